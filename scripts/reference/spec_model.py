"""The GradMix model-spec grammar in Python: a PyTorch network and a NumPy
reference forward pass built from the same spec string as the Swift engine
(Sources/GradMixEngine/Model/ModelSpec.swift, Sequential.swift).

Tokens (joined by "-"): conv<C>k<K>[s<S>][p<P>], pool<K>[s<S>] (max),
avgpool<K>[s<S>], gap, bn, res<C>[s<S>], relu, flatten, fc<N>, dropout<rate>.
A flatten is inserted before an fc that follows an image-shaped input.

Module names equal the engine's tensor names, so an engine checkpoint is a
state dict of `build_torch(spec, input_shape)`: conv<i>, fc<i>, bn<i>, res<i>
count their own kind from 1; a residual block has torchvision BasicBlock's
children conv1, bn1, conv2, bn2 and, when the shape changes,
downsample = Sequential(1x1 conv, BatchNorm). Convolutions inside a block
have no bias; every other conv and fc has one. BatchNorm: eps 1e-5,
momentum 0.1 (PyTorch's defaults).

Used by scripts/bench_torch.py, scripts/reference/load_checkpoint.py and
scripts/reference/make_golden_resnet.py. NumPy is required; torch only for
build_torch.
"""
from __future__ import annotations

import re

import numpy as np

BN_EPS = 1e-5

_NUMBERS = re.compile(r"^(\d+)((?:[a-z]\d+)*)$")


class SpecError(ValueError):
    pass


def _fields(body: str, keys: list[str], token: str) -> dict[str, int]:
    """Splits "32k5s2" into {"": 32, "k": 5, "s": 2}; keys must appear in order."""
    parts = re.findall(r"([a-z]?)(\d+)", body)
    if "".join(k + v for k, v in parts) != body or not parts:
        raise SpecError(f"unknown token {token!r}")
    out: dict[str, int] = {}
    allowed = list(keys)
    for k, v in parts:
        if k not in allowed:
            raise SpecError(f"unknown token {token!r}")
        allowed = allowed[allowed.index(k) + 1:]
        out[k] = int(v)
    if "" not in out:
        raise SpecError(f"unknown token {token!r}")
    return out


def parse(spec: str) -> list[tuple]:
    """Returns a list of (kind, args) tuples."""
    out = []
    for t in spec.split("-"):
        if t in ("relu", "flatten", "bn", "gap"):
            out.append((t,))
        elif t.startswith("dropout"):
            out.append(("dropout", float(t[7:])))
        elif t.startswith("conv"):
            f = _fields(t[4:], ["", "k", "s", "p"], t)
            if "k" not in f:
                raise SpecError(f"unknown token {t!r}")
            out.append(("conv", f[""], f["k"], f.get("s", 1), f.get("p", 0)))
        elif t.startswith("avgpool"):
            f = _fields(t[7:], ["", "s"], t)
            out.append(("avgpool", f[""], f.get("s", f[""])))
        elif t.startswith("pool"):
            f = _fields(t[4:], ["", "s"], t)
            out.append(("pool", f[""], f.get("s", f[""])))
        elif t.startswith("res"):
            f = _fields(t[3:], ["", "s"], t)
            out.append(("res", f[""], f.get("s", 1)))
        elif t.startswith("fc"):
            out.append(("fc", int(t[2:])))
        else:
            raise SpecError(f"unknown token {t!r}")
    return out


def _conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def plan(spec: str, input_shape) -> list[tuple]:
    """Resolves shapes and names: a list of (name or None, kind, args, in_shape, out_shape)."""
    shape = tuple(input_shape)
    counts = {"conv": 0, "fc": 0, "bn": 0, "res": 0}
    steps = []
    for tok in parse(spec):
        kind = tok[0]
        name = None
        if kind in counts:
            counts[kind] += 1
            name = f"{kind}{counts[kind]}"
        if kind == "conv":
            c, k, s, p = tok[1:]
            out = (c, _conv_out(shape[1], k, s, p), _conv_out(shape[2], k, s, p))
        elif kind == "res":
            c, s = tok[1:]
            out = (c, _conv_out(shape[1], 3, s, 1), _conv_out(shape[2], 3, s, 1))
        elif kind in ("pool", "avgpool"):
            k, s = tok[1:]
            out = (shape[0], _conv_out(shape[1], k, s, 0), _conv_out(shape[2], k, s, 0))
        elif kind == "gap":
            out = (shape[0],)
        elif kind == "flatten":
            out = (int(np.prod(shape)),)
        elif kind == "fc":
            if len(shape) != 1:
                steps.append((None, "flatten", (), shape, (int(np.prod(shape)),)))
                shape = (int(np.prod(shape)),)
            out = (tok[1],)
        else:  # relu, bn, dropout
            out = shape
        steps.append((name, kind, tok[1:], shape, out))
        shape = out
    return steps


# MARK: - PyTorch


def build_torch(spec: str, input_shape):
    """The spec as a torch.nn.Module whose state dict names match the engine's checkpoints."""
    import torch
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return torch.relu(out + identity)

    class SpecNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.order = []
            for i, (name, kind, args, ins, _) in enumerate(plan(spec, input_shape)):
                if kind == "conv":
                    c, k, s, p = args
                    m = nn.Conv2d(ins[0], c, k, s, p)
                elif kind == "res":
                    m = BasicBlock(ins[0], args[0], args[1])
                elif kind == "bn":
                    m = nn.BatchNorm2d(ins[0]) if len(ins) == 3 else nn.BatchNorm1d(ins[0])
                elif kind == "fc":
                    m = nn.Linear(ins[0], args[0])
                elif kind == "pool":
                    m = nn.MaxPool2d(args[0], args[1])
                elif kind == "avgpool":
                    m = nn.AvgPool2d(args[0], args[1])
                elif kind == "gap":
                    m = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
                elif kind == "flatten":
                    m = nn.Flatten()
                elif kind == "relu":
                    m = nn.ReLU()
                elif kind == "dropout":
                    m = nn.Dropout(args[0])
                else:
                    raise SpecError(kind)
                key = name or f"op{i}"
                self.add_module(key, m)
                self.order.append(key)

        def forward(self, x):
            for key in self.order:
                x = getattr(self, key)(x)
            return x

    return SpecNet()


# MARK: - NumPy reference (evaluation mode)


def _conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = _conv_out(h, kh, stride, pad), _conv_out(wd, kw, stride, pad)
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    y = np.einsum("nckluv,ockl->nouv", cols, w, optimize=True)
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def _pool(x, k, s, reduce):
    n, c, h, w = x.shape
    oh, ow = _conv_out(h, k, s, 0), _conv_out(w, k, s, 0)
    win = np.stack([x[:, :, i:i + s * oh:s, j:j + s * ow:s] for i in range(k) for j in range(k)])
    return reduce(win, axis=0)


def _bn_eval(x, sd, prefix):
    mean, var = sd[prefix + ".running_mean"], sd[prefix + ".running_var"]
    g, b = sd[prefix + ".weight"], sd[prefix + ".bias"]
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + BN_EPS) * g.reshape(shape) + b.reshape(shape)


def numpy_forward(spec: str, input_shape, sd: dict, x: np.ndarray) -> np.ndarray:
    """Evaluation-mode logits (float64) of the spec with state dict `sd` on x [N, *input_shape]."""
    sd = {k: np.asarray(v, dtype=np.float64) for k, v in sd.items()}
    x = np.asarray(x, dtype=np.float64)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    for name, kind, args, ins, _ in plan(spec, input_shape):
        if kind == "conv":
            x = _conv2d(x, sd[name + ".weight"], sd[name + ".bias"], args[2], args[3])
        elif kind == "res":
            p = name + "."
            h = relu(_bn_eval(_conv2d(x, sd[p + "conv1.weight"], None, args[1], 1), sd, p + "bn1"))
            h = _bn_eval(_conv2d(h, sd[p + "conv2.weight"], None, 1, 1), sd, p + "bn2")
            if p + "downsample.0.weight" in sd:
                x = _bn_eval(_conv2d(x, sd[p + "downsample.0.weight"], None, args[1], 0), sd, p + "downsample.1")
            x = relu(h + x)
        elif kind == "bn":
            x = _bn_eval(x, sd, name)
        elif kind == "fc":
            x = x @ sd[name + ".weight"].T + sd[name + ".bias"]
        elif kind == "pool":
            x = _pool(x, args[0], args[1], np.max)
        elif kind == "avgpool":
            x = _pool(x, args[0], args[1], np.mean)
        elif kind == "gap":
            x = x.mean(axis=(2, 3))
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "relu":
            x = relu(x)
        # dropout: identity in evaluation mode
    return x


# MARK: - safetensors without the safetensors package


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """Reads a .safetensors file (F32/F64/I64 tensors) with NumPy only."""
    import json
    import struct

    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[base + a:base + b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out
