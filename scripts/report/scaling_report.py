#!/usr/bin/env python3
"""Tables and a plot of `scripts/bench-scaling.sh` records: median step (and per phase, rank 0) of
`gradmix train` for weak scaling (K sources on 1 process and on K+1 ranks) and strong scaling
(2 sources on 1 process and on 3..N ranks). Each number is the median over the repeats of the
runs' median step (summary.json median_seconds); speed-up = one-process median / N-rank median.
"""
import argparse
import json
import statistics

PHASES = ["target_gradient", "source_gradients", "mixing", "communication", "waiting", "update"]


def med(values):
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replot", help="redraw --plot from an existing --json (no records needed)")
    ap.add_argument("--records")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--plot", required=True)
    ap.add_argument("--machine")
    ap.add_argument("--steps", type=int)
    a = ap.parse_args()
    if a.replot:
        saved = json.load(open(a.replot))
        plot(saved["rows"], saved["machine"], a.plot)
        return
    records = [json.loads(line) for line in open(a.records) if line.strip()]
    groups = {}
    for r in records:
        groups.setdefault((r["study"], r["sources"], r["ranks"]), []).append(r)
    rows = []
    for (study, k, n), rs in sorted(groups.items()):
        row = {"study": study, "sources": k, "ranks": n, "runs": len(rs),
               "median_step": med([r["median_seconds"]["step"] for r in rs]),
               "params_l2": [r["params_l2"] for r in rs]}
        for p in PHASES:
            row[p] = med([r["median_seconds"].get(p, float("nan")) for r in rs])
        row["slowest_rank_step"] = med([max(r["per_rank_median_step"]) for r in rs])
        rows.append(row)
    base = {(r["study"], r["sources"]): r["median_step"] for r in rows if r["ranks"] == 1}
    for r in rows:
        r["speedup"] = base.get((r["study"], r["sources"]), float("nan")) / r["median_step"]
    json.dump({"machine": a.machine, "steps": a.steps, "rows": rows}, open(a.json, "w"), indent=2, sort_keys=True)

    def table(study, title):
        out = [f"### {title}", "",
               "| sources | ranks | median step ms | speed-up | " + " | ".join(p.replace("_", " ") for p in PHASES)
               + " | runs |",
               "|---|---|---|---|" + "---|" * len(PHASES) + "---|"]
        for r in rows:
            if r["study"] != study:
                continue
            out.append(f"| {r['sources']} | {r['ranks']} | {r['median_step'] * 1000:.1f} | {r['speedup']:.2f}× | "
                       + " | ".join(f"{r[p] * 1000:.1f}" for p in PHASES) + f" | {r['runs']} |")
        return out

    md = ["# Scaling of `gradmix train` over ranks", "",
          f"Machine: {a.machine}. Produced by `scripts/bench-scaling.sh` ({a.steps} steps per run, 1 engine thread "
          "per rank, sources of experiments/many-sources, `--method gated-pcgrad-no-pl`, target not mixed in as a "
          "source). Median over runs of each run's median step; phases are rank 0's medians (ms): rank 0 computes "
          "the target gradient, the workers the sources; `waiting` is time spent waiting for other ranks at a "
          "collective, `communication` the time moving bytes once all are there.", ""]
    md += table("weak", "Weak scaling: K sources on K+1 ranks (speed-up against K sources in one process)") + [""]
    md += table("strong", "Strong scaling: 2 sources on 3..N ranks (batches split over the workers beyond 3)") + [""]
    open(a.markdown, "w").write("\n".join(md))

    plot(rows, a.machine, a.plot)


def plot(rows, machine, path):
    """Stacked rank-0 phase medians per layout, with the median step as a line."""
    import textwrap

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, study, xlabel in [(axes[0], "weak", "sources K (K+1 ranks)"), (axes[1], "strong", "ranks (2 sources)")]:
        rs = [r for r in rows if r["study"] == study and r["ranks"] > 1]
        xs = [r["sources"] if study == "weak" else r["ranks"] for r in rs]
        bottom = [0.0] * len(rs)
        for p in PHASES:
            v = [r[p] * 1000 for r in rs]
            ax.bar([str(x) for x in xs], v, bottom=bottom, label=p.replace("_", " "))
            bottom = [b + x for b, x in zip(bottom, v)]
        ax.plot([str(x) for x in xs], [r["median_step"] * 1000 for r in rs], "k.-", label="median step")
        singles = [r for r in rows if r["study"] == study and r["ranks"] == 1]
        if study == "strong" and singles:
            ax.axhline(singles[0]["median_step"] * 1000, color="grey", ls="--", label="1 process")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms (rank 0 phases, medians)")
        ax.set_title(study)
    axes[1].legend(fontsize=7)
    fig.suptitle("\n".join(textwrap.wrap(machine, 120)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
