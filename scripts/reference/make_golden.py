#!/usr/bin/env python3
"""Golden reference values for the GradMix engine tests.

Writes Tests/GradMixEngineTests/Fixtures/golden.json. NumPy only, float64
math, fixed seeds: anyone can regenerate the file without PyTorch. PyTorch is
never a dependency of GradMix; `--check-torch` merely cross-checks the values
when it happens to be installed (see scripts/install-torch.sh).

The checked-in file was produced, from the repository root, by exactly:

    python3 scripts/reference/make_golden.py

(NumPy 2.4.6, CPython 3.11.7; NumPy 2.2.6 from scripts/setup-python.sh's
.venv regenerates it byte for byte). `--verify` regenerates in memory and checks
that the file on disk is identical; `--check-torch` compares every case
against torch (float64, autograd) and prints the max abs difference;
`--check-numeric` compares every gradient against central finite differences.

Conventions: every tensor is a flat row-major (C order) list of floats
(written with repr(float64), so it round-trips exactly), plus its shape.
Inputs are rounded to 4 decimals so they are short and the same after any
re-generation; expected values are full float64. Layouts are PyTorch's:
NCHW activations, conv weight [out, in, kh, kw], dense weight [out, in].

JSON schema (top-level object):

  "conv_a", "conv_b": conv2d forward + backward (cross-correlation, as PyTorch)
      {"input_shape": [N,C,H,W], "input": [...],
       "weight_shape": [O,C,KH,KW], "weight": [...],
       "bias": [O],                      (shape [O])
       "stride": int, "padding": int,    (same for both spatial dims; zero padding)
       "output_shape": [N,O,OH,OW], "output": [...],
       "dy": [...]                       (upstream gradient, shape output_shape),
       "dx": [...] (input_shape), "dw": [...] (weight_shape), "db": [...] ([O])}
      conv_a: input [2,3,7,6], weight [4,3,3,3], stride 2, padding 1 -> [2,4,4,3]
      conv_b: input [1,2,5,5], weight [3,2,2,2], stride 1, padding 0 -> [1,3,4,4]

  "maxpool": 2x2 max pooling, stride 2, no padding, no ties in any window
      {"input_shape": [2,3,6,6], "input": [...], "kernel": 2, "stride": 2,
       "output_shape": [2,3,3,3], "output": [...],
       "dy": [...] (output_shape), "dx": [...] (input_shape; dy routed to the argmax)}

  "dense": y = x W^T + b
      {"input_shape": [3,5], "input": [...], "weight_shape": [4,5], "weight": [...],
       "bias": [4], "output": [...] (shape [3,4]), "dy": [...] ([3,4]),
       "dx": [...] ([3,5]), "dw": [...] ([4,5]), "db": [...] ([4])}

  "softmax_ce": list of cases
      {"name": str, "logits_shape": [N,K], "logits": [...],
       "labels": [N ints], "weights": [N floats] or null, "mask": [K ints 0/1] or null,
       "loss": float, "dlogits": [...] (shape [N,K])}
      Loss: L = (1/N) * sum_i w_i * (-log softmax_masked(z_i)[y_i]), with w_i = 1
      when weights is null and softmax taken over the masked-in classes only
      (all classes when mask is null). Every label is masked in. Note the
      normalisation is 1/N, NOT 1/sum(w). dlogits = dL/dz:
      (w_i/N) * (p_ij - [j == y_i]) for masked-in j, exactly 0 for masked-out j.
      Cases, in order: "plain" (no weights, no mask), "weights", "mask",
      "weights_mask", and "weights_mask_large" (both, logits scaled to ~+-60
      to exercise a numerically stable log-sum-exp).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

SEED = 20240611
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "GradMixEngineTests", "Fixtures", "golden.json")


def rng_for(case: int) -> np.random.Generator:
    """Independent generator per case, so editing one case never changes another."""
    return np.random.default_rng([SEED, case])


def rand(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return np.round(rng.standard_normal(shape) * scale, 4)


# ---------------------------------------------------------------- reference ops

def conv2d_forward(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, c2, kh, kw = w.shape
    assert c == c2
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return y + b[None, :, None, None]


def conv2d_backward(x, w, dy, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    _, _, oh, ow = dy.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            sl = (slice(None), slice(None),
                  slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw))
            g = dy[:, :, i, j]                                  # [n, o]
            dw += np.einsum("no,nckl->ockl", g, xp[sl])
            dxp[sl] += np.einsum("no,ockl->nckl", g, w)
    dx = dxp[:, :, pad:pad + h, pad:pad + wd]
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def maxpool_forward_backward(x, dy, k, s):
    n, c, h, wd = x.shape
    oh, ow = (h - k) // s + 1, (wd - k) // s + 1
    y = np.zeros((n, c, oh, ow))
    dx = np.zeros_like(x)
    for a in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    win = x[a, ch, i * s:i * s + k, j * s:j * s + k]
                    flat = win.ravel()
                    m = int(np.argmax(flat))
                    assert np.sum(flat == flat[m]) == 1, "tie in max-pool window"
                    y[a, ch, i, j] = flat[m]
                    di, dj = divmod(m, k)
                    dx[a, ch, i * s + di, j * s + dj] += dy[a, ch, i, j]
    return y, dx


def softmax_ce(z, labels, weights, mask):
    n, k = z.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    m = np.ones(k, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    assert all(m[y] for y in labels), "label outside the mask"
    zm = np.where(m[None, :], z, -np.inf)
    zmax = zm.max(axis=1, keepdims=True)
    e = np.where(m[None, :], np.exp(zm - zmax), 0.0)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    logp_y = (z[np.arange(n), labels] - zmax[:, 0]) - np.log(s[:, 0])
    loss = float(np.sum(w * -logp_y) / n)
    onehot = np.zeros_like(z)
    onehot[np.arange(n), labels] = 1.0
    dz = (w[:, None] / n) * (p - onehot)
    dz[:, ~m] = 0.0
    return loss, dz


# ---------------------------------------------------------------- cases

def flat(a) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def conv_case(case, in_shape, w_shape, stride, pad):
    rng = rng_for(case)
    x = rand(rng, in_shape)
    w = rand(rng, w_shape, 0.5)
    b = rand(rng, (w_shape[0],), 0.5)
    y = conv2d_forward(x, w, b, stride, pad)
    dy = rand(rng, y.shape)
    dx, dw, db = conv2d_backward(x, w, dy, stride, pad)
    return {
        "input_shape": list(in_shape), "input": flat(x),
        "weight_shape": list(w_shape), "weight": flat(w),
        "bias": flat(b), "stride": stride, "padding": pad,
        "output_shape": list(y.shape), "output": flat(y),
        "dy": flat(dy), "dx": flat(dx), "dw": flat(dw), "db": flat(db),
    }


def maxpool_case(case):
    rng = rng_for(case)
    shape = (2, 3, 6, 6)
    size = int(np.prod(shape))
    # distinct values, well separated (>= 0.01 apart): a permutation of a grid
    x = (rng.permutation(size) - size / 2) * 0.01 + 0.0
    x = np.round(x, 4).reshape(shape)
    assert len(np.unique(x)) == size
    dy = rand(rng, (2, 3, 3, 3))
    y, dx = maxpool_forward_backward(x, dy, 2, 2)
    return {
        "input_shape": list(shape), "input": flat(x), "kernel": 2, "stride": 2,
        "output_shape": list(y.shape), "output": flat(y), "dy": flat(dy), "dx": flat(dx),
    }


def dense_case(case):
    rng = rng_for(case)
    x = rand(rng, (3, 5))
    w = rand(rng, (4, 5), 0.5)
    b = rand(rng, (4,), 0.5)
    y = x @ w.T + b
    dy = rand(rng, y.shape)
    return {
        "input_shape": [3, 5], "input": flat(x), "weight_shape": [4, 5], "weight": flat(w),
        "bias": flat(b), "output": flat(y), "dy": flat(dy),
        "dx": flat(dy @ w), "dw": flat(dy.T @ x), "db": flat(dy.sum(axis=0)),
    }


def softmax_cases(case):
    rng = rng_for(case)
    n, k = 4, 6
    logits = rand(rng, (n, k), 2.0)
    mask = [1, 0, 1, 1, 0, 1]
    inside = [j for j in range(k) if mask[j]]
    labels_any = [1, 4, 0, 5]                      # includes classes masked out later
    labels_in = [int(v) for v in rng.choice(inside, size=n)]
    labels_in[0] = inside[-1]
    weights = [float(v) for v in np.round(rng.uniform(0.25, 2.0, size=n), 4)]
    large = np.round(logits * 30.0, 4)
    specs = [
        ("plain", logits, labels_any, None, None),
        ("weights", logits, labels_any, weights, None),
        ("mask", logits, labels_in, None, mask),
        ("weights_mask", logits, labels_in, weights, mask),
        ("weights_mask_large", large, labels_in, weights, mask),
    ]
    out = []
    for name, z, labels, w, m in specs:
        loss, dz = softmax_ce(z, labels, w, m)
        out.append({
            "name": name, "logits_shape": [n, k], "logits": flat(z),
            "labels": list(labels), "weights": w, "mask": m,
            "loss": loss, "dlogits": flat(dz),
        })
    return out


def make_golden() -> dict:
    return {
        "conv_a": conv_case(1, (2, 3, 7, 6), (4, 3, 3, 3), stride=2, pad=1),
        "conv_b": conv_case(2, (1, 2, 5, 5), (3, 2, 2, 2), stride=1, pad=0),
        "maxpool": maxpool_case(3),
        "dense": dense_case(4),
        "softmax_ce": softmax_cases(5),
    }


# ---------------------------------------------------------------- output

def to_json(obj, indent: int = 0) -> str:
    """Objects one key per line; lists of scalars on one line (compact)."""
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {to_json(v, indent + 1).lstrip()}' for k, v in obj.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return pad + "[\n" + ",\n".join(to_json(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return pad + json.dumps(obj, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------- checks

def arr(d, key, shape_key):
    return np.array(d[key], dtype=np.float64).reshape(d[shape_key])


def check_torch(g: dict) -> float:
    import torch
    import torch.nn.functional as F
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)
    worst = 0.0

    def report(name, pairs):
        nonlocal worst
        diffs = {k: float(np.max(np.abs(np.asarray(a) - b.detach().numpy().reshape(np.shape(a)))))
                 for k, (a, b) in pairs.items()}
        m = max(diffs.values())
        worst = max(worst, m)
        print(f"  {name:<22} max abs diff {m:.3e}  (" +
              ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) + ")")

    print(f"cross-check against torch {torch.__version__} (float64, autograd):")
    for key in ("conv_a", "conv_b"):
        c = g[key]
        x = t(arr(c, "input", "input_shape")).requires_grad_()
        w = t(arr(c, "weight", "weight_shape")).requires_grad_()
        b = t(c["bias"]).requires_grad_()
        y = F.conv2d(x, w, b, stride=c["stride"], padding=c["padding"])
        y.backward(t(arr(c, "dy", "output_shape")))
        report(key, {"output": (c["output"], y), "dx": (c["dx"], x.grad),
                     "dw": (c["dw"], w.grad), "db": (c["db"], b.grad)})
    c = g["maxpool"]
    x = t(arr(c, "input", "input_shape")).requires_grad_()
    y = F.max_pool2d(x, c["kernel"], c["stride"])
    y.backward(t(arr(c, "dy", "output_shape")))
    report("maxpool", {"output": (c["output"], y), "dx": (c["dx"], x.grad)})
    c = g["dense"]
    x = t(arr(c, "input", "input_shape")).requires_grad_()
    w = t(arr(c, "weight", "weight_shape")).requires_grad_()
    b = t(c["bias"]).requires_grad_()
    y = F.linear(x, w, b)
    y.backward(t(c["dy"]).reshape(y.shape))
    report("dense", {"output": (c["output"], y), "dx": (c["dx"], x.grad),
                     "dw": (c["dw"], w.grad), "db": (c["db"], b.grad)})
    for c in g["softmax_ce"]:
        z = t(arr(c, "logits", "logits_shape")).requires_grad_()
        n, k = c["logits_shape"]
        zz = z
        if c["mask"] is not None:
            zz = z.masked_fill(~torch.tensor(c["mask"], dtype=torch.bool)[None, :], float("-inf"))
        per = F.cross_entropy(zz, torch.tensor(c["labels"]), reduction="none")
        w = t(c["weights"]) if c["weights"] is not None else torch.ones(n, dtype=torch.float64)
        loss = (w * per).sum() / n
        loss.backward()
        report(f"softmax_ce/{c['name']}", {"loss": (c["loss"], loss), "dlogits": (c["dlogits"], z.grad)})
    return worst


def check_numeric(g: dict) -> float:
    """Central finite differences of sum(output * dy) (and of the loss)."""
    eps = 1e-6
    worst = 0.0

    def num_grad(f, a):
        gr = np.zeros_like(a)
        it = np.nditer(a, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = a[i]
            a[i] = old + eps; fp = f()
            a[i] = old - eps; fm = f()
            a[i] = old
            gr[i] = (fp - fm) / (2 * eps)
        return gr

    def report(name, diffs):
        nonlocal worst
        m = max(diffs)
        worst = max(worst, m)
        print(f"  {name:<22} max abs diff {m:.3e}")

    print(f"finite-difference check (central, eps={eps}):")
    for key in ("conv_a", "conv_b"):
        c = g[key]
        x, w = arr(c, "input", "input_shape"), arr(c, "weight", "weight_shape")
        b, dy = np.array(c["bias"]), arr(c, "dy", "output_shape")
        f = lambda: float(np.sum(conv2d_forward(x, w, b, c["stride"], c["padding"]) * dy))
        report(key, [np.max(np.abs(num_grad(f, x).ravel() - c["dx"])),
                     np.max(np.abs(num_grad(f, w).ravel() - c["dw"])),
                     np.max(np.abs(num_grad(f, b).ravel() - c["db"]))])
    c = g["maxpool"]
    x, dy = arr(c, "input", "input_shape"), arr(c, "dy", "output_shape")
    f = lambda: float(np.sum(maxpool_forward_backward(x, dy, 2, 2)[0] * dy))
    report("maxpool", [np.max(np.abs(num_grad(f, x).ravel() - c["dx"]))])
    c = g["dense"]
    x, w = arr(c, "input", "input_shape"), arr(c, "weight", "weight_shape")
    b, dy = np.array(c["bias"]), np.array(c["dy"]).reshape(3, 4)
    f = lambda: float(np.sum((x @ w.T + b) * dy))
    report("dense", [np.max(np.abs(num_grad(f, x).ravel() - c["dx"])),
                     np.max(np.abs(num_grad(f, w).ravel() - c["dw"])),
                     np.max(np.abs(num_grad(f, b).ravel() - c["db"]))])
    for c in g["softmax_ce"]:
        z = arr(c, "logits", "logits_shape")
        f = lambda: softmax_ce(z, c["labels"], c["weights"], c["mask"])[0]
        report(f"softmax_ce/{c['name']}", [np.max(np.abs(num_grad(f, z).ravel() - c["dlogits"]))])
    return worst


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Generate the GradMix engine golden test values (NumPy, float64).")
    p.add_argument("--out", default=DEFAULT_OUT, help="output JSON file (default: %(default)s)")
    p.add_argument("--verify", action="store_true",
                   help="do not write; exit 1 unless --out already holds exactly the generated content")
    p.add_argument("--check-torch", action="store_true",
                   help="cross-check every case against PyTorch (float64) and print max abs diffs")
    p.add_argument("--check-numeric", action="store_true",
                   help="check every gradient against central finite differences")
    p.add_argument("--tolerance", type=float, default=1e-9,
                   help="max abs diff allowed by --check-torch (finite differences use 1e-6)")
    args = p.parse_args(argv)

    golden = make_golden()
    text = to_json(golden) + "\n"
    status = 0
    if args.verify:
        try:
            with open(args.out) as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from generated content'}")
        status = 0 if same else 1
    else:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out} ({len(text.encode())} bytes)")

    if args.check_numeric:
        worst = check_numeric(golden)
        print(f"finite differences: worst {worst:.3e}")
        if worst > 1e-6:
            status = 1
    if args.check_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("--check-torch: PyTorch is not installed (scripts/install-torch.sh); skipped")
            return status
        worst = check_torch(golden)
        ok = worst <= args.tolerance
        print(f"torch: worst max abs diff {worst:.3e} ({'OK' if ok else 'FAIL'}, tolerance {args.tolerance:g})")
        if not ok:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
