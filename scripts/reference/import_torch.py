#!/usr/bin/env python3
"""Convert a PyTorch state_dict into the safetensors file `model.init` reads.

    python3 scripts/reference/import_torch.py WEIGHTS --spec SPEC --input C,H,W --out init.safetensors
        [--map spec|torchvision-resnet] [--drop fc1] [--quiet]

WEIGHTS: a state_dict saved with torch.save (.pt/.pth; needs torch; a dict holding the
state_dict under "state_dict" or "model" is unwrapped), or the same tensors as a NumPy .npz
(no torch needed), or a .safetensors file (renamed and checked).

The output has one little-endian F32 tensor per parameter and BatchNorm running statistic of
the network that SPEC describes on input shape C,H,W (or D), under the engine's names
(Sequential.swift, scripts/reference/spec_model.py): conv<i>/fc<i>/bn<i>/res<i> count their own
kind from 1; a residual block holds conv1, bn1, conv2, bn2 and, when the shape changes,
downsample.0 (1x1 conv) and downsample.1 (BatchNorm). Every tensor is checked against the
spec's shape; a missing, unexpected or mis-shaped tensor stops with one `error:` line and exit
status 2 (as `gradmix train` does with model.init).

Mappings (--map):
  spec                 (default) the names are already the spec's: a state_dict of
                       spec_model.build_torch(SPEC, shape), or an engine checkpoint.
  torchvision-resnet   torchvision's ResNet with BasicBlocks (resnet18/34 and CIFAR-style
                       variants): conv1 -> conv1, bn1 -> bn1, layer<s>.<b>.* -> res<k>.* with k
                       counting the blocks in order (layer1.0 = res1, layer1.1 = res2, layer2.0 =
                       res3, ...; the block's own conv1/bn1/conv2/bn2/downsample.0/downsample.1 keep
                       their names), fc -> the spec's last fc. A conv the spec gives a bias but
                       the file does not (torchvision's stem conv1 has bias=False) gets a zero bias.
                       The network must be one the spec can express: torchvision's stem max-pool
                       (3x3, stride 2, padding 1) has no spec token, so replace it by an identity
                       (`model.maxpool = nn.Identity()`) before saving, e.g. for resnet18 on 3x32x32:
                       conv64k7s2p3-bn-relu-res64-res64-res128s2-res128-res256s2-res256-res512s2-res512-gap-fc10.
--drop NAME  leaves out every tensor of layer NAME (e.g. a head that the new task replaces;
             the run then needs model.init_skip: [NAME] for it). May be repeated.

Integer tensors (num_batches_tracked) and float16/float64 ones are written as F32.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_model import SpecError, plan, read_safetensors  # noqa: E402


class ImportError_(Exception):
    pass


def expected_tensors(spec: str, shape) -> list[tuple[str, tuple]]:
    """Every tensor of the spec's network in the engine's storage order: parameters, then state."""
    params: list[tuple[str, tuple]] = []
    state: list[tuple[str, tuple]] = []

    def bn(prefix, c):
        params.extend([(prefix + ".weight", (c,)), (prefix + ".bias", (c,))])
        state.extend([(prefix + ".running_mean", (c,)), (prefix + ".running_var", (c,)),
                      (prefix + ".num_batches_tracked", ())])

    for name, kind, args, ins, outs in plan(spec, shape):
        if kind == "conv":
            c, k = args[0], args[1]
            params.extend([(name + ".weight", (c, ins[0], k, k)), (name + ".bias", (c,))])
        elif kind == "fc":
            params.extend([(name + ".weight", (args[0], ins[0])), (name + ".bias", (args[0],))])
        elif kind == "bn":
            bn(name, ins[0])
        elif kind == "res":
            c, s = args
            params.append((name + ".conv1.weight", (c, ins[0], 3, 3)))
            bn(name + ".bn1", c)
            params.append((name + ".conv2.weight", (c, c, 3, 3)))
            bn(name + ".bn2", c)
            if s != 1 or ins[0] != c:
                params.append((name + ".downsample.0.weight", (c, ins[0], 1, 1)))
                bn(name + ".downsample.1", c)
    return params + state


def load_weights(path: str) -> dict[str, np.ndarray]:
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    try:
        import torch
    except ModuleNotFoundError:
        raise ImportError_(f"{path}: reading a .pt/.pth file needs torch (scripts/install-torch.sh); "
                           "or save the state_dict as .npz")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise ImportError_(f"{path}: not a PyTorch state_dict: {e}".splitlines()[0])
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ImportError_(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    return {k: v.detach().cpu().numpy() for k, v in obj.items() if hasattr(v, "detach")}


def map_torchvision_resnet(sd: dict, spec: str, shape) -> dict:
    steps = plan(spec, shape)
    fcs = [n for n, kind, *_ in steps if kind == "fc"]
    blocks = sorted({(int(m.group(1)), int(m.group(2))) for k in sd
                     if (m := re.match(r"layer(\d+)\.(\d+)\.", k))})
    block_name = {b: f"res{i + 1}" for i, b in enumerate(blocks)}
    out = {}
    for k, v in sd.items():
        m = re.match(r"layer(\d+)\.(\d+)\.(.*)$", k)
        if m:
            out[f"{block_name[(int(m.group(1)), int(m.group(2)))]}.{m.group(3)}"] = v
        elif k.startswith("fc.") and fcs:
            out[fcs[-1] + k[2:]] = v
        else:
            out[k] = v
    # The spec's plain convs have a bias; torchvision's stem conv does not.
    for n, kind, args, *_ in steps:
        if kind == "conv" and n + ".weight" in out and n + ".bias" not in out:
            out[n + ".bias"] = np.zeros(args[0], dtype=np.float32)
    return out


def convert(sd: dict, spec: str, shape, mapping: str, drop: list[str]) -> list[tuple[str, np.ndarray]]:
    if mapping == "torchvision-resnet":
        sd = map_torchvision_resnet(sd, spec, shape)
    sd = {k: v for k, v in sd.items() if not k.startswith("optimizer.velocity.")}
    expected = expected_tensors(spec, shape)
    layers = sorted({n.split(".")[0] for n, _ in expected})
    for d in drop:
        if d not in layers:
            raise ImportError_(f"--drop: unknown layer '{d}' (layers: {', '.join(layers)})")
    dropped = lambda name: name.split(".")[0] in drop  # noqa: E731
    names = {n for n, _ in expected}
    for k in sorted(sd):
        if k not in names and not dropped(k):
            raise ImportError_(f"tensor '{k}' (shape {list(np.shape(sd[k]))}) is not a tensor of '{spec}'")
    out = []
    for name, want in expected:
        if dropped(name):
            continue
        if name not in sd:
            raise ImportError_(f"has no tensor '{name}' (the spec needs it with shape {list(want)})")
        a = np.asarray(sd[name])
        if tuple(a.shape) != tuple(want):
            raise ImportError_(f"tensor '{name}' has shape {list(a.shape)}, the spec needs {list(want)}")
        out.append((name, np.array(a, dtype="<f4", order="C")))  # (ascontiguousarray makes a scalar 1-d)
    return out


def write_safetensors(path: str, tensors: list[tuple[str, np.ndarray]], spec: str) -> None:
    header: dict = {"__metadata__": {"format": "pt", "gradmix_spec": spec}}
    offset = 0
    for name, a in tensors:
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, a in tensors:
            f.write(a.tobytes())
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--spec", required=True, help="the model spec (model.spec)")
    ap.add_argument("--input", required=True, help="one sample's shape (model.input), e.g. 3,28,28")
    ap.add_argument("--out", required=True, help="the .safetensors file to write")
    ap.add_argument("--map", choices=["spec", "torchvision-resnet"], default="spec")
    ap.add_argument("--drop", action="append", default=[], help="leave out this layer's tensors")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        shape = tuple(int(s) for s in a.input.split(","))
        tensors = convert(load_weights(a.weights), a.spec, shape, a.map, a.drop)
        write_safetensors(a.out, tensors, a.spec)
    except (ImportError_, SpecError, ValueError) as e:
        print(f"error: {a.weights}: {e}" if not str(e).startswith(a.weights) else f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not a.quiet:
        for name, t in tensors:
            print(f"{name:40s} {list(t.shape)}")
        print(f"wrote {len(tensors)} tensors to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
