#!/usr/bin/env python3
"""Golden values from PyTorch for a small residual network (forward and backward,
training and evaluation mode), for Tests/GradMixEngineTests/ResNetGoldenTests.swift.

Writes Tests/GradMixEngineTests/Fixtures/golden_resnet.json. Needs PyTorch
(scripts/install-torch.sh); the tests only read the committed JSON, so neither
they nor CI need torch. The checked-in file was produced, from the repository
root, by exactly:

    PYTHON=.venv/bin/python scripts/install-torch.sh
    .venv/bin/python scripts/reference/make_golden_resnet.py

(torch 2.13.0+cpu, NumPy 2.2.6, CPython 3.11). `--verify` regenerates in
memory and checks the file on disk agrees within 1e-12.

The network is built from the spec by scripts/reference/spec_model.py
(build_torch), in float64:

    conv4k3p1-bn-relu-res6s2-res6-avgpool2-bn-gap-fc5-bn-relu-fc3 on [2, 8, 8], batch 4

(a conv+bn, a residual block with a projection shortcut and stride 2, one with
the identity, average pooling, a bn after pooling, global average pooling, and
a bn over features). Parameters are torch's default initialisation (seed 0)
with every BatchNorm weight and bias redrawn (uniform [0.5, 1.5] and
[-0.3, 0.3]); running means uniform [-0.5, 0.5], running variances uniform
[0.5, 1.5], num_batches_tracked 0. All inputs are rounded to 4 decimals.

JSON schema:
  spec, input_shape [C,H,W], batch N,
  x [N*C*H*W], dy [N*classes]                 (the loss is sum(logits * dy)),
  parameters {name: flat values}              (state-dict names, C order),
  state {name: flat values}                   (running_mean, running_var, num_batches_tracked),
  train {logits, gradients {name: ...}, state {name: ...}}
        model.train(): batch statistics; `state` is the state after the pass,
  eval  {logits, gradients {name: ...}}
        model.eval() from the state after the training pass.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_model import build_torch  # noqa: E402

SPEC = "conv4k3p1-bn-relu-res6s2-res6-avgpool2-bn-gap-fc5-bn-relu-fc3"
INPUT = (2, 8, 8)
BATCH = 4
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "Tests/GradMixEngineTests/Fixtures/golden_resnet.json")


def flat(t) -> list[float]:
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make() -> dict:
    import torch

    torch.manual_seed(0)
    model = build_torch(SPEC, INPUT).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.round(v * 1e4) / 1e4)
    gen = torch.Generator().manual_seed(1)
    x = torch.round(torch.randn((BATCH, *INPUT), generator=gen, dtype=torch.float64) * 1e4) / 1e4
    classes = 3
    dy = torch.round(torch.randn((BATCH, classes), generator=gen, dtype=torch.float64) * 1e4) / 1e4
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    out = {
        "spec": SPEC, "input_shape": list(INPUT), "batch": BATCH, "x": flat(x), "dy": flat(dy),
        "parameters": {k: flat(v) for k, v in params.items()},
        "state": {k: flat(v.double()) for k, v in buffers.items()},
    }
    for mode in ("train", "eval"):
        model.train(mode == "train")
        model.zero_grad(set_to_none=True)
        logits = model(x)
        (logits * dy).sum().backward()
        out[mode] = {"logits": flat(logits), "gradients": {k: flat(v.grad) for k, v in params.items()}}
        if mode == "train":
            out[mode]["state"] = {k: flat(v.double()) for k, v in model.named_buffers()}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--verify", action="store_true", help="check the file on disk instead of writing it")
    a = p.parse_args(argv)
    g = make()
    if a.verify:
        disk = json.load(open(a.out))

        def walk(u, v, path):
            if isinstance(u, dict):
                assert u.keys() == v.keys(), path
                return max([walk(u[k], v[k], path + "." + k) for k in u] or [0])
            if isinstance(u, list) and u and isinstance(u[0], float):
                return max(abs(x - y) for x, y in zip(u, v))
            assert u == v, path
            return 0.0
        worst = walk(g, disk, "")
        print(f"max abs difference {worst:.3g}")
        return 0 if worst <= 1e-12 else 1
    with open(a.out, "w") as f:
        json.dump(g, f, indent=1)
        f.write("\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
