#!/usr/bin/env python3
"""Load any GradMix checkpoint outside the engine: list its tensors, rebuild the network from
the spec stored in its sidecar as a PyTorch module (BatchNorm running statistics included),
and optionally compute evaluation-mode logits on a batch, with PyTorch or with a NumPy
reference forward pass that needs nothing but NumPy.

    python3 scripts/reference/load_checkpoint.py runs/digits-gated-pcgrad/final.safetensors
    python3 scripts/reference/load_checkpoint.py CKPT --input x.f32 --out logits.f32 --backend numpy

Prints every tensor's shape and the parameters' L2 norm (running statistics and optimiser
state excluded), which equals `params_l2` in summary.json. With torch installed
(scripts/install-torch.sh) the state dict is loaded with strict=True into the module built by
scripts/reference/spec_model.py:build_torch, whose names are the engine's.

--input: a batch as raw little-endian float32 [N, *model.input] (or a .npy file); --out:
the logits [N, classes] as raw float32 (or .npy). --backend auto uses torch when installed,
else NumPy. Both compute in float64.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_model import build_torch, numpy_forward, read_safetensors  # noqa: E402

STATE_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")


def sidecar_path(path: str) -> str:
    return path[: -len(".safetensors")] + ".json" if path.endswith(".safetensors") else path + ".json"


def load_array(path: str, shape) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path).astype(np.float32).reshape((-1, *shape))
    return np.fromfile(path, dtype="<f4").reshape((-1, *shape))


def torch_model(spec, shape, model_tensors):
    import torch

    net = build_torch(spec, shape).double()
    own = net.state_dict()
    sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)).to(own[k].dtype).reshape(own[k].shape)
          for k, v in model_tensors.items() if k in own}
    net.load_state_dict(sd, strict=True)
    return net.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--input", help="batch: raw float32 [N, *model.input] or .npy")
    ap.add_argument("--out", help="write the logits here (raw float32, or .npy)")
    ap.add_argument("--backend", choices=["auto", "numpy", "torch"], default="auto")
    ap.add_argument("--quiet", action="store_true", help="do not list the tensors")
    a = ap.parse_args(argv)

    try:
        meta = json.load(open(sidecar_path(a.checkpoint)))
        spec, shape = meta["spec"], tuple(meta["inputShape"])
        tensors = read_safetensors(a.checkpoint)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {a.checkpoint}: {e}", file=sys.stderr)
        return 2
    model_tensors = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    params = {k: v for k, v in model_tensors.items() if not k.endswith(STATE_SUFFIXES)}
    if not a.quiet:
        print(f"spec {spec} on {list(shape)}")
        for k in sorted(tensors):
            print(f"{k:40s} {str(tensors[k].shape):18s} {tensors[k].dtype}")
        l2 = float(np.sqrt(sum((v.astype(np.float64) ** 2).sum() for v in params.values())))
        print(f"params_l2 {l2:.10f}")
        summary = os.path.join(os.path.dirname(a.checkpoint), "summary.json")
        if os.path.exists(summary):
            print(f"summary.json params_l2 {json.load(open(summary))['params_l2']:.10f}")

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if a.backend == "torch" and not have_torch:
        print("error: --backend torch: PyTorch is not installed (scripts/install-torch.sh)", file=sys.stderr)
        return 2
    net = None
    if have_torch and a.backend != "numpy":
        net = torch_model(spec, shape, model_tensors)
        if not a.quiet:
            print(f"loaded into torch ({spec}), strict=True")

    if a.input:
        x = load_array(a.input, shape)
        if net is not None:
            import torch
            with torch.no_grad():
                logits = net(torch.from_numpy(x.astype(np.float64))).numpy()
        else:
            logits = numpy_forward(spec, shape, model_tensors, x)
        logits = logits.astype(np.float32)
        if a.out:
            if a.out.endswith(".npy"):
                np.save(a.out, logits)
            else:
                logits.astype("<f4").tofile(a.out)
        else:
            print(logits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
