#!/usr/bin/env python3
"""Fit the latency-bandwidth (alpha-beta) model of each collective to `gradmix bench comm` records,
extrapolate the per-step communication of each mixing protocol to N ranks and K sources, and plot
measured points with the model lines. See docs/DESIGN.md, "Communication cost model".

Models (n = message bytes, N = ranks; Thakur, Rabenseifner & Gropp 2005):
  allreduce (Rabenseifner: recursive-halving reduce-scatter + recursive-doubling allgather):
                                                  T = 2 ceil(log2 N) a + 2 (N-1)/N n b
  broadcast (binomial tree):                      T = ceil(log2 N) (a + n b)
  gather to the root (linear, m bytes per rank):  T = (N-1) a + (N-1) m b
"""
import argparse
import json
import math

import numpy as np

FEATURES = {
    "allreduce": lambda N, n: (2 * math.ceil(math.log2(N)), 2 * (N - 1) / N * n),
    "broadcast": lambda N, n: (math.ceil(math.log2(N)), math.ceil(math.log2(N)) * n),
    "gather": lambda N, m: (N - 1, (N - 1) * m),
}
SOURCE = {"allreduce": "data-parallel", "broadcast": "allreduce-bcast", "gather": "gather"}
PROTOCOLS = ["data-parallel", "allreduce-recompute", "allreduce-bcast", "gather"]


def fit(records, transport):
    consts = {}
    for op, proto in SOURCE.items():
        rows, ts = [], []
        for r in records:
            if r["transport"] != transport or r["protocol"] != proto or r["world_size"] < 2:
                continue
            N, P = r["world_size"], r["params"]
            n = 4 * P if op != "gather" else 4 * P * r["sources"] / (N - 1)
            rows.append(FEATURES[op](N, n))
            ts.append(r["collective_seconds"][op])
        A, t = np.array(rows, float), np.array(ts, float)
        # Weighted least squares on relative error, so small messages count as much as large ones.
        w = 1 / np.maximum(t, 1e-7)
        (a, b), *_ = np.linalg.lstsq(A * w[:, None], t * w, rcond=None)
        consts[op] = (max(a, 0.0), max(b, 0.0))
    return consts


def collective(consts, op, N, n):
    if N < 2:
        return 0.0
    a, b = consts[op]
    f = FEATURES[op](N, n)
    return f[0] * a + f[1] * b


def step_time(consts, proto, N, K, P, L=4):
    stats = 8 * (K * L + 3 * K + 3)
    ar = lambda n: collective(consts, "allreduce", N, n)
    if proto == "data-parallel":
        return ar(4 * P)
    if proto == "allreduce-recompute":
        return ar(stats) + ar(4 * P)
    if proto == "allreduce-bcast":
        return collective(consts, "broadcast", N, 4 * P) + ar(stats) + ar(4 * P)
    return ar(stats) + collective(consts, "gather", N, 4 * P * K / max(N - 1, 1)) + collective(consts, "broadcast", N, 4 * P)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--plot", required=True)
    a = ap.parse_args()
    records = json.load(open(a.json))
    transports = sorted({r["transport"] for r in records})
    md = ["# Communication cost of gradient mixing", "",
          "Produced by `scripts/bench-comm.sh` (`gradmix bench comm` under `mpirun -np N`, one source per worker,",
          "4 layers); measured on this 2-core machine, ranks beyond 2 oversubscribed. Times are medians of one",
          "step's collectives; bytes are rank 0's payload per step.", ""]
    consts_by = {}
    for tr in transports:
        c = fit(records, tr)
        consts_by[tr] = c
        md += [f"## Transport `{tr}`", "", "Fitted constants (latency a, inverse bandwidth b):", "",
               "| collective | a (µs) | 1/b (GB/s) |", "|---|---|---|"]
        for op, (al, be) in c.items():
            md.append(f"| {op} | {al * 1e6:.1f} | {(1 / be / 1e9) if be > 0 else float('inf'):.2f} |")
        md += ["", "Measured (median ms per step, rank 0 MB sent / received):", "",
               "| ranks | params | " + " | ".join(PROTOCOLS) + " | recompute / data-parallel |",
               "|---|---|" + "---|" * (len(PROTOCOLS) + 1)]
        keys = sorted({(r["world_size"], r["params"]) for r in records if r["transport"] == tr})
        for N, P in keys:
            cells, by = [], {}
            for p in PROTOCOLS:
                r = next((r for r in records if r["transport"] == tr and r["world_size"] == N and r["params"] == P and r["protocol"] == p), None)
                by[p] = r
                cells.append("-" if r is None else f"{r['median_seconds'] * 1e3:.2f} ({r['bytes_sent'] / 1e6:.2f}/{r['bytes_received'] / 1e6:.2f})")
            ratio = by["allreduce-recompute"]["median_seconds"] / by["data-parallel"]["median_seconds"] if by.get("data-parallel") and by.get("allreduce-recompute") else float("nan")
            md.append(f"| {N} | {P:.0e} | " + " | ".join(cells) + f" | {ratio:.3f} |")
        md += ["", "Model extrapolation (ms per step; K = N-1 sources, one per worker, unless stated):", "",
               "| params | N | K | " + " | ".join(PROTOCOLS) + " | recompute / data-parallel |",
               "|---|---|---|" + "---|" * (len(PROTOCOLS) + 1)]
        for P in (10**6, 10**7):
            for N, K in ((8, 7), (32, 31), (256, 255), (256, 1024)):
                ts = [step_time(c, p, N, K, P) for p in PROTOCOLS]
                md.append(f"| {P:.0e} | {N} | {K} | " + " | ".join(f"{t * 1e3:.2f}" for t in ts) + f" | {ts[1] / ts[0]:.4f} |")
        md.append("")
    md += ["![comm](comm.png)", ""]
    open(a.markdown, "w").write("\n".join(md))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(transports), figsize=(6 * len(transports), 4), squeeze=False)
    P = 10**6
    Ns = np.array([2, 3, 4, 8, 16, 32, 64, 128, 256])
    for ax, tr in zip(axes[0], transports):
        for p, color in zip(PROTOCOLS, ["k", "tab:blue", "tab:orange", "tab:red"]):
            ax.plot(Ns, [step_time(consts_by[tr], p, N, N - 1, P) * 1e3 for N in Ns], color=color, label=f"{p} (model)")
            pts = [(r["world_size"], r["median_seconds"] * 1e3) for r in records if r["transport"] == tr and r["protocol"] == p and r["params"] == P]
            if pts:
                x, y = zip(*pts)
                ax.scatter(x, y, color=color, marker="o", s=25)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("ranks N (one source per worker)")
        ax.set_ylabel("communication per step (ms)")
        ax.set_title(f"{tr}: 10^6 parameters; dots measured, lines model")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(a.plot, dpi=110)


if __name__ == "__main__":
    main()
