#!/usr/bin/env python3
"""Summarise the digits benchmark runs (scripts/run-benchmark.sh) into results/digits.md and plot
the layer-wise weights of one gated-pcgrad run over training.

Reads RUNS/<experiment>-<method>-s<seed>/summary.json and metrics.jsonl.
"""
import argparse
import glob
import json
import os
import statistics

METHODS = ["target-only", "source-only", "finetune", "uniform", "l2rw", "gradmix", "gated-pcgrad-no-pl", "gated-pcgrad"]


def load(runs):
    out = {}
    for path in glob.glob(os.path.join(runs, "*", "summary.json")):
        with open(path) as f:
            s = json.load(f)
        name = os.path.basename(os.path.dirname(path))
        exp = name.rsplit("-" + s["method"] + "-s", 1)[0]
        out.setdefault((exp, s["method"]), []).append(s)
    return out


def fmt(values):
    if not values:
        return "-"
    m = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * m:.2f} ± {100 * sd:.2f}"


def acc(s):
    """The evaluated split's accuracy (`target_test_accuracy` in runs before issue #27)."""
    return s["target_accuracy"] if "target_accuracy" in s else s["target_test_accuracy"]


def table(results, exp, methods, extra=None):
    rows = ["| method | target test accuracy (%) mean ± std | per seed | steps | wall s per run |" + (f" {extra[0]} |" if extra else ""),
            "|---|---|---|---|---|" + ("---|" if extra else "")]
    for m in methods:
        runs = sorted(results.get((exp, m), []), key=lambda s: s["seed"])
        if not runs:
            continue
        accs = [acc(r) for r in runs]
        per = ", ".join(f"{100 * a:.1f}" for a in accs)
        wall = statistics.mean(r["wall_seconds"] for r in runs)
        row = f"| `{m}` | {fmt(accs)} | {per} | {runs[0]['steps']} | {wall:.0f} |"
        if extra:
            row += f" {extra[1](runs)} |"
        rows.append(row)
    return "\n".join(rows)


def paired(results, exp, base, others):
    """Per-seed differences base - other (the seeds share data splits and initialisation)."""
    rows = [f"| `{base}` minus | per seed (points) | mean |", "|---|---|---|"]
    b = {r["seed"]: acc(r) for r in results.get((exp, base), [])}
    for m in others:
        o = {r["seed"]: acc(r) for r in results.get((exp, m), [])}
        seeds = sorted(set(b) & set(o))
        if not seeds:
            continue
        d = [100 * (b[s] - o[s]) for s in seeds]
        rows.append(f"| `{m}` | " + ", ".join(f"{x:+.1f}" for x in d) + f" | {statistics.mean(d):+.2f} |")
    return "\n".join(rows)


def noise_weight(runs):
    vals = []
    for r in runs:
        mw = r.get("mean_weights", {})
        noise = [v for k, v in mw.items() if k.startswith("noise")]
        if noise:
            vals.append(statistics.mean(noise[0]))
    return f"{statistics.mean(vals):.3f}" if vals else "-"


def plot(run_dir, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "weights" in r:
                recs.append(r)
    layers = recs[-1]["layers"]
    sources = sorted(recs[-1]["weights"].keys())
    fig, axes = plt.subplots(1, len(layers), figsize=(4 * len(layers), 3.4), sharey=True)
    for li, (ax, layer) in enumerate(zip(axes, layers)):
        for s in sources:
            steps = [r["step"] for r in recs if s in r["weights"]]
            w = [r["weights"][s][li] for r in recs if s in r["weights"]]
            line, = ax.plot(steps, w, linewidth=0.8, alpha=0.3)
            k = 5  # running mean over 5 logged steps (100 training steps at log_every 20)
            smooth = [statistics.mean(w[max(0, i - k + 1):i + 1]) for i in range(len(w))]
            ax.plot(steps, smooth, color=line.get_color(), label=s, linewidth=1.8)
        ax.set_title(layer)
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("weight (normalised per layer)")
    axes[-1].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"GradMix layer-wise weights over training ({os.path.basename(run_dir)}; faint: logged steps, bold: running mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--elapsed", type=int, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--command", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--plot", required=True)
    a = ap.parse_args()
    res = load(a.runs)
    md = [
        "# Digits benchmark results",
        "",
        "Sources `mnist[0-4]` (MNIST train) and `syndigits[5-9]` (printed digits, the SVHN stand-in); target",
        "`mnist-m[0-9]` built from MNIST test: 10 labelled images per class, 5,000 unlabelled, 3,000 test.",
        "Network `conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10`; every method has the same network,",
        "data, steps and seeds (configs in `experiments/`). Accuracy is on the target test split after the last step.",
        "",
        f"Produced by `{a.command}` in {a.elapsed / 60:.1f} min on 2 cores ({a.jobs} runs at a time, {a.threads} BLAS thread(s) each).",
        "",
        "## experiments/digits",
        "",
        table(res, "digits", METHODS),
        "",
        "Paired by seed (same data split and initialisation), `gated-pcgrad` minus each other method:",
        "",
        paired(res, "digits", "gated-pcgrad", [m for m in METHODS if m != "gated-pcgrad"]),
        "",
        "## experiments/digits-uci (source `uci[0-4]` instead of `mnist[0-4]`)",
        "",
        table(res, "digits-uci", ["target-only", "uniform", "gradmix", "gated-pcgrad"]),
        "",
        "## Robustness: a third source with shuffled labels (experiments/digits-noise)",
        "",
        table(res, "digits-noise", ["uniform", "gradmix", "gated-pcgrad"], extra=("mean weight of the noise source", noise_weight)),
        "",
        "The layer-wise weights of one `gated-pcgrad` run over training: `results/digits-weights.png`.",
        "",
        "![weights](digits-weights.png)",
        "",
    ]
    with open(a.markdown, "w") as f:
        f.write("\n".join(md))
    run = os.path.join(a.runs, "digits-gated-pcgrad-s1")
    if os.path.isdir(run):
        plot(run, a.plot)


if __name__ == "__main__":
    main()
