#!/usr/bin/env python3
"""PyTorch CPU reference benchmark for `gradmix bench engine`.

PyTorch is used ONLY for this speed comparison (and, optionally, for the
cross-check in scripts/reference/make_golden.py). It is never a dependency of
GradMix: nothing in the Swift package, its tests or its CI needs it.
Install it with `scripts/install-torch.sh` (a pinned CPU-only build).

Network: built from the same spec string as `gradmix bench engine --spec S --input C,H,W`
by scripts/reference/spec_model.py (build_torch; e.g. `bn` is BatchNorm2d/1d, `res<C>[s<S>]`
torchvision's BasicBlock). The default is the digit CNN
`conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10` on 3x28x28:

    Conv2d(3, 32, 5)  (stride 1, no padding)  -> ReLU -> MaxPool2d(2)
    Conv2d(32, 64, 5)                          -> ReLU -> MaxPool2d(2)
    Flatten (64*4*4 = 1024) -> Linear(1024, 512) -> ReLU -> Linear(512, 10)

Modes:
    train  forward + softmax cross-entropy (integer labels) + backward +
           SGD step (lr 0.01, momentum 0.9, weight_decay 5e-4)
    infer  forward only, model.eval() under torch.inference_mode()

Methodology (the Swift side uses the same): for every (mode, batch, threads)
configuration the random inputs/labels and the initial weights are fixed by a
seed; 5 warm-up steps are run, then --repeats timed repeats of --steps steps
each. Each repeat gives images/s = batch * steps / seconds; the median over
repeats is reported, together with min and max.

Threads: torch.set_num_interop_threads(1) once at start-up, then
torch.set_num_threads(T) for each configuration.

Examples:
    python3 scripts/bench_torch.py
    python3 scripts/bench_torch.py --repeats 3 --steps 10 --json torch.json
    python3 scripts/bench_torch.py --modes infer --batches 64 --threads 1
    python3 scripts/bench_torch.py --spec conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 --input 3,32,32 --batches 64
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import os
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
from spec_model import build_torch, plan  # noqa: E402

SPEC = "conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10"
WARMUP_STEPS = 5
LR, MOMENTUM, WEIGHT_DECAY = 0.01, 0.9, 5e-4
IMAGE_SHAPE = (3, 28, 28)


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def mode_list(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in ("train", "infer")]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"modes must be train and/or infer, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="PyTorch CPU reference benchmark for `gradmix bench engine` "
        "(network from --spec). PyTorch is only used for this comparison.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--spec", default=SPEC, help="model spec (the engine's grammar)")
    p.add_argument("--input", type=int_list, default=list(IMAGE_SHAPE), help="input shape C,H,W (or D)")
    p.add_argument("--modes", type=mode_list, default=["train", "infer"],
                   help="comma-separated modes: train,infer")
    p.add_argument("--batches", type=int_list, default=[64, 128],
                   help="comma-separated batch sizes")
    p.add_argument("--threads", type=int_list, default=[1, 2],
                   help="comma-separated intra-op thread counts (torch.set_num_threads)")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats per configuration")
    p.add_argument("--steps", type=int, default=20, help="steps per timed repeat")
    p.add_argument("--warmup", type=int, default=WARMUP_STEPS, help="untimed warm-up steps")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, inputs and labels")
    p.add_argument("--json", metavar="FILE", help="also write the records as a JSON list to FILE")
    p.add_argument("--quiet", action="store_true", help="do not print progress to stderr")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.steps < 1 or args.warmup < 0:
        p.error("--repeats and --steps must be >= 1, --warmup >= 0")
    return args


def build_model(torch, args):
    return build_torch(args.spec, tuple(args.input))


def run_config(torch, mode: str, batch: int, threads: int, args) -> list[float]:
    """Returns images/s of each timed repeat."""
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    model = build_model(torch, args)
    classes = plan(args.spec, tuple(args.input))[-1][4][0]
    gen = torch.Generator().manual_seed(args.seed + 1000 * batch)
    x = torch.randn((batch, *args.input), generator=gen, dtype=torch.float32)
    y = torch.randint(0, classes, (batch,), generator=gen, dtype=torch.int64)

    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                              weight_decay=WEIGHT_DECAY)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)

    for _ in range(args.warmup):
        step()
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        dt = time.perf_counter() - t0
        rates.append(batch * args.steps / dt)
    return rates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("error: PyTorch is not installed; run scripts/install-torch.sh "
              "(PyTorch is only needed for this comparison)", file=sys.stderr)
        return 2

    torch.set_num_interop_threads(1)
    info = {
        "engine": "pytorch",
        "version": torch.__version__,
        "spec": args.spec,
        "input": args.input,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "cuda_build": torch.version.cuda,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if not args.quiet:
        print(f"# torch {torch.__version__} (mkldnn={info['mkldnn']}, cuda build={info['cuda_build']}), "
              f"spec {args.spec} on {args.input}, warmup {args.warmup}, repeats {args.repeats} x {args.steps} steps",
              file=sys.stderr)

    records = []
    header = f"{'mode':<6} {'batch':>5} {'threads':>7} {'img/s median':>13} {'min':>10} {'max':>10}"
    print(header)
    print("-" * len(header))
    for mode in args.modes:
        for batch in args.batches:
            for threads in args.threads:
                rates = run_config(torch, mode, batch, threads, args)
                med = statistics.median(rates)
                rec = dict(info)
                rec.update({
                    "mode": mode,
                    "batch": batch,
                    "threads": threads,
                    "images_per_second": med,
                    "images_per_second_min": min(rates),
                    "images_per_second_max": max(rates),
                    "repeats": args.repeats,
                    "steps": args.steps,
                    "warmup": args.warmup,
                    "samples": rates,
                })
                records.append(rec)
                print(f"{mode:<6} {batch:>5} {threads:>7} {med:>13.1f} {min(rates):>10.1f} {max(rates):>10.1f}",
                      flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=2)
            f.write("\n")
        if not args.quiet:
            print(f"# wrote {len(records)} records to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
