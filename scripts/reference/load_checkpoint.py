#!/usr/bin/env python3
"""Load a GradMix checkpoint with the `safetensors` Python package (and, if PyTorch is installed,
into the equivalent torch.nn.Sequential), to show the format is interoperable.

    pip install safetensors numpy          # torch is optional (scripts/install-torch.sh)
    python3 scripts/reference/load_checkpoint.py runs/digits-gradmix/final.safetensors

Prints every tensor's shape and the parameters' L2 norm, which equals `params_l2` in summary.json.
Only the digit CNN's layer mapping (conv1, conv2, fc1, fc2) is built into the torch part.
"""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import load_file


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    a = ap.parse_args()
    tensors = load_file(a.checkpoint)
    params = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    for k in sorted(tensors):
        print(f"{k:32s} {str(tensors[k].shape):18s} {tensors[k].dtype}")
    l2 = float(np.sqrt(sum((v.astype(np.float64) ** 2).sum() for v in params.values())))
    print(f"params_l2 {l2:.10f}")
    summary = os.path.join(os.path.dirname(a.checkpoint), "summary.json")
    if os.path.exists(summary):
        print(f"summary.json params_l2 {json.load(open(summary))['params_l2']:.10f}")
    try:
        import torch
    except ImportError:
        return
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(1024, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    index = {"conv1": "0", "conv2": "3", "fc1": "7", "fc2": "9"}
    net.load_state_dict({index[k.split(".")[0]] + "." + k.split(".")[1]: torch.from_numpy(v) for k, v in params.items()})
    print("loaded into torch.nn.Sequential (conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10)")


if __name__ == "__main__":
    main()
