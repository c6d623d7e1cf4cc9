#!/usr/bin/env python3
"""Collects the suite's runs (scripts/run-suite.sh) into results/suite.json, suite.md and a plot.

Per task: every method's mean accuracy with a 95% confidence interval (Student t over seeds), the
paired differences (same seed) to `uniform` and `l2rw` with their 95% CIs, `gated-pcgrad` against every other
method (flagging a CI entirely below 0), and for the tasks with a
harmful source the loss against the clean counterpart task and the harmful sources' mean last-layer
weight after warm-up. Then the mean over tasks (clean counterparts excluded), and wall times.

One stack (issue #27): every mean, interval and paired difference over seeds comes from
`gradmix table --values` (GradMixReports' Statistics, as `gradmix table` prints for runs), and the
method order from `gradmix info --methods --suite`; this script arranges values and formats them.
With --records it renders a suite.json written earlier instead of reading run folders.
"""
import argparse
import glob
import json
import math
import os
import statistics

import gradmix_tool

# Tasks with a harmful source -> the same task without it.
CLEAN = {"digits-noise": "digits", "digits-permuted": "digits", "digits-foreign": "digits", "digits-relabelled": "digits",
         "digits-folded": "digits", "many-sources": "many-sources-clean"}
# The suite's tasks in report order (scripts/run-suite.sh runs these by default); other tasks follow sorted.
TASKS = ["digits", "digits-uci", "digits-noise", "digits-permuted", "digits-foreign", "digits-relabelled", "digits-folded",
         "cross-task", "digits-5shot", "many-sources", "many-sources-clean"]
# Counterparts only: not in the mean over tasks (their task is already there with the harmful source).
COUNTERPARTS = {"many-sources-clean"}
WARMUP_FRACTION = 0.2  # weights are averaged over the steps after the first 20%
# Rows that are not `gradmix train` methods: the no-transfer reference first; the paper's reported numbers
# (`paper`, a variant tag) beside `gradmix` (the paper's method); the subset oracle (scripts/report/subset_oracle.py) last.
REFERENCE_FIRST = ["target-only"]
BASELINE_AFTER = {"paper": "gradmix"}
BASELINE_LAST = ["subset"]


def method_order(suite_methods):
  """The report's row order: the references, the suite's methods (`gradmix info`'s order) with the baselines."""
  order = list(REFERENCE_FIRST)
  for m in suite_methods:
    order.append(m)
    order += [b for b, after in BASELINE_AFTER.items() if after == m]
  return order + BASELINE_LAST


def last_layer_weights(run_dir, steps):
  """Mean weight of each source in the last layer over logged steps after warm-up (metrics.jsonl)."""
  sums, counts = {}, {}
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    for line in f:
      r = json.loads(line)
      if "weights" not in r or r.get("step", 0) <= WARMUP_FRACTION * steps or r.get("skipped"):
        continue
      present = r.get("losses", {})  # the sources that took part that step (weight 0 counts)
      for name, w in r["weights"].items():
        if name in present and w:
          sums[name] = sums.get(name, 0.0) + w[-1]
          counts[name] = counts.get(name, 0) + 1
  return {k: sums[k] / counts[k] for k in sums}


def collect(runs, split):
  records = []
  for summary in sorted(glob.glob(os.path.join(runs, "*", "*", "summary.json"))):
    run_dir = os.path.dirname(summary)
    task = os.path.basename(os.path.dirname(run_dir))
    tag = os.path.basename(run_dir).rsplit("-s", 1)[0]
    with open(summary) as f:
      s = json.load(f)
    med = s.get("median_seconds", {})
    rec = {
      "task": task, "method": tag, "seed": s["seed"], "steps": s["steps"], "eval_split": split,
      f"target_{split}_accuracy": s["target_accuracy"] if "target_accuracy" in s else s["target_test_accuracy"],
      "last_layer_weight": last_layer_weights(run_dir, s["steps"]),
      "mean_last_layer_weight_all_steps": {k: v[-1] for k, v in s.get("mean_weights", {}).items()},
      "wall_seconds": s["wall_seconds"], "median_step_seconds": med.get("step"),
      "median_mixing_seconds": med.get("mixing"), "pseudo_count": s.get("pseudo_count"),
    }
    if tag == "subset":  # the subset the oracle chose on validation (scripts/report/subset_oracle.py)
      with open(os.path.join(os.path.dirname(run_dir), "subset.json")) as f:
        rec["subset"] = json.load(f)["chosen"]
    records.append(rec)
  return records


def fmt(m, h, scale=100):
  return f"{m * scale:.2f} ± {h * scale:.2f}" if not math.isnan(h) else f"{m * scale:.2f}"


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--runs", help="the suite's run folders (scripts/run-suite.sh --out)")
  ap.add_argument("--records", help="instead of --runs: a suite.json this script wrote (re-renders it)")
  ap.add_argument("--bin", help="the gradmix binary (default: $GRADMIX_BIN, else .build/release/gradmix)")
  ap.add_argument("--split", default="test")
  ap.add_argument("--elapsed", type=float, default=float("nan"))
  ap.add_argument("--jobs", type=int, default=2)
  ap.add_argument("--command", default="")
  ap.add_argument("--json", help="write the records here (required with --runs)")
  ap.add_argument("--markdown", required=True)
  ap.add_argument("--plot")
  ap.add_argument("--baselines", default="uniform l2rw", help="methods to show paired differences to")
  ap.add_argument("--mean-over", default="", help="the tasks of the mean over tasks (default: every task but the "
                  "clean counterparts)")
  ap.add_argument("--focus", default="gated-pcgrad", help="the method compared with every other one, task by task")
  a = ap.parse_args()
  if bool(a.runs) == bool(a.records):
    ap.error("give --runs or --records")
  if a.runs and not a.json:
    ap.error("--runs needs --json")
  gradmix = gradmix_tool.binary(a.bin)
  if a.records:
    with open(a.records) as f:
      records = json.load(f)
  else:
    records = collect(a.runs, a.split)
  if a.json:
    with open(a.json, "w") as f:
      json.dump(records, f, indent=1, sort_keys=True)
  stats = gradmix_tool.Stats(gradmix)
  order = method_order(gradmix_tool.methods(gradmix, suite=True))
  render(a, records, stats, order)  # records the values whose statistics the report needs
  stats.compute()
  out, plot = render(a, records, stats, order)
  with open(a.markdown, "w") as f:
    f.write("\n".join(out) + "\n")
  if a.plot:
    plot()


def render(a, records, stats, order):
  """The markdown lines and a function that draws the plot."""
  key = f"target_{a.split}_accuracy"
  acc = {}  # task -> method -> seed -> accuracy
  for r in records:
    acc.setdefault(r["task"], {}).setdefault(r["method"], {})[r["seed"]] = r[key]
  methods = sorted({r["method"] for r in records}, key=lambda m: (order.index(m) if m in order else 99, m))
  tasks = [t for t in TASKS if t in acc] + sorted(t for t in acc if t not in TASKS)
  seeds = sorted({r["seed"] for r in records})
  out = [f"# Task suite: target {a.split} accuracy (%)", "",
         f"Generated by `scripts/report/suite_report.py` from `{a.runs or a.records}` ({len(records)} runs); command: "
         f"`{a.command}`.", ""]
  steps = sorted({r["steps"] for r in records})
  wall = sum(r["wall_seconds"] for r in records)
  out += [f"Steps: {', '.join(map(str, steps))}; seeds: {', '.join(map(str, seeds))}; "
          f"{len(tasks)} tasks x {len(methods)} methods. Wall time of this call: "
          + (f"{a.elapsed / 60:.1f} min" if not math.isnan(a.elapsed) else "n/a")
          + f" ({a.jobs} runs at a time); sum of the runs' own wall times: {wall / 60:.1f} min "
          f"(≈ {wall / 60 / a.jobs:.1f} min at {a.jobs} at a time).", ""]

  def diffs(task, m, base):
    """(mean, half-width) of m minus base in `task`, paired by seed; None without a common seed."""
    if base not in acc[task] or m not in acc[task]:
      return None
    return stats.paired(acc[task][m], acc[task][base])

  # Main table: mean ± CI per task and method.
  out += ["## Mean ± 95% CI per task", "", "| task | " + " | ".join(f"`{m}`" for m in methods) + " |",
          "|---|" + "---|" * len(methods)]
  for t in tasks:
    cells = []
    best = max((stats.estimate(acc[t][m])[0] for m in methods if m in acc[t]), default=None)
    for m in methods:
      if m not in acc[t]:
        cells.append("")
        continue
      mm, h = stats.estimate(acc[t][m])
      c = fmt(mm, h)
      cells.append(f"**{c}**" if mm == best else c)
    out.append(f"| {t} | " + " | ".join(cells) + " |")
  # Mean over tasks: per seed, the mean over the (non-counterpart) tasks; CI over seeds.
  main_tasks = [t for t in tasks if t not in COUNTERPARTS] if not a.mean_over else [
    t for t in tasks if t in a.mean_over.split()]
  per_seed = {}  # method -> {seed: mean over the main tasks}, for the seeds where every main task ran
  for m in methods:
    per_seed[m] = {}
    for s in seeds:
      xs = [acc[t][m][s] for t in main_tasks if m in acc[t] and s in acc[t][m]]
      if xs and len(xs) == len(main_tasks):
        per_seed[m][s] = statistics.fmean(xs)
  cells = []
  for m in methods:
    if per_seed[m]:
      mm, h = stats.estimate(per_seed[m])
      cells.append(fmt(mm, h) + f" ({len(per_seed[m])} seeds)")
    else:
      cells.append("(no seed complete)")
  out.append(f"| **mean over {len(main_tasks)} tasks** | " + " | ".join(cells) + " |")
  left_out = [t for t in tasks if t not in main_tasks]
  out += ["", f"The mean over tasks leaves out {', '.join(left_out) or 'no task'}; it is taken "
          "over the seeds in which the method ran every task (their number in brackets), its CI over those seeds. "
          "Cells without ± have one seed.", ""]

  # Paired differences.
  for base in a.baselines.split():
    if base not in methods:
      continue
    out += [f"## Paired difference to `{base}` (points, same seed; mean ± 95% CI; * = CI excludes 0)", "",
            "| task | " + " | ".join(f"`{m}`" for m in methods if m != base) + " |",
            "|---|" + "---|" * (len(methods) - 1)]
    rows = [(t, {m: diffs(t, m, base) for m in methods if m != base}) for t in tasks]
    mean_row = {}
    for m in methods:
      if m != base and per_seed.get(m) and per_seed.get(base):
        mean_row[m] = stats.paired(per_seed[m], per_seed[base])
    rows.append((f"**mean over {len(main_tasks)} tasks**", mean_row))
    for t, row in rows:
      cells = []
      for m in methods:
        if m == base:
          continue
        d = row.get(m)
        if not d:
          cells.append("")
          continue
        mm, h = d
        star = "*" if not math.isnan(h) and (mm - h > 0 or mm + h < 0) else ""
        cells.append(f"{mm * 100:+.2f} ± {h * 100:.2f}{star}" if not math.isnan(h) else f"{mm * 100:+.2f}")
      out.append(f"| {t} | " + " | ".join(cells) + " |")
    out.append("")

  # The focus method against every other method: the "no task significantly negative" check.
  if a.focus in methods and len(methods) > 1:
    others = [m for m in methods if m != a.focus]
    out += [f"## `{a.focus}` against every method (points, `{a.focus}` minus the method, same seed; mean ± 95% CI; "
            "NEG = CI entirely below 0, * = entirely above)", "",
            "| task | " + " | ".join(f"`{m}`" for m in others) + " |", "|---|" + "---|" * len(others)]
    negatives = []
    for t in tasks + ["MEAN"]:
      cells = []
      for m in others:
        if t == "MEAN":
          d = stats.paired(per_seed[a.focus], per_seed[m]) if per_seed.get(m) and per_seed.get(a.focus) else None
        else:
          d = diffs(t, a.focus, m)
        if not d:
          cells.append("")
          continue
        mm, h = d
        if math.isnan(h):
          cells.append(f"{mm * 100:+.2f}")
          continue
        flag = " NEG" if mm + h < 0 else ("*" if mm - h > 0 else "")
        if flag == " NEG":
          negatives.append(f"{t} vs `{m}` ({mm * 100:+.2f} ± {h * 100:.2f})")
        cells.append(f"{mm * 100:+.2f} ± {h * 100:.2f}{flag}")
      label = f"**mean over {len(main_tasks)} tasks**" if t == "MEAN" else t
      out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += ["", ("Significantly negative (CI entirely below 0): " + "; ".join(negatives) + ".") if negatives else
            f"No task has a paired difference of `{a.focus}` to any method with its CI entirely below 0.", ""]

  # Harmful sources.
  harm = [t for t in tasks if t in CLEAN and CLEAN[t] in acc]
  if harm:
    out += ["## Harmful sources", "",
            "Loss = accuracy on the clean counterpart task minus on the task with the harmful source(s), paired by "
            f"seed (points, mean ± 95% CI). Weight = the harmful sources' mean last-layer weight over the logged "
            f"steps after the first {int(WARMUP_FRACTION * 100)}% (metrics.jsonl, every `log_every` steps; "
            "the largest if there are two).", "",
            "| task (clean) | " + " | ".join(f"`{m}` loss / weight" for m in methods) + " |",
            "|---|" + "---|" * len(methods)]
    for t in harm:
      cells = []
      for m in methods:
        if m not in acc[t] or m not in acc[CLEAN[t]]:
          cells.append("")
          continue
        d = stats.paired(acc[CLEAN[t]][m], acc[t][m])
        ws = []
        for r in records:
          if r["task"] == t and r["method"] == m:
            hw = [v for k, v in r["last_layer_weight"].items() if k.startswith("HARMFUL")]
            if hw:
              ws.append(max(hw))
        mm, h = d if d else (float("nan"), float("nan"))
        w = f"{statistics.fmean(ws):.3f}" if ws else "n/a"
        cells.append(f"{mm * 100:+.2f} ± {h * 100:.2f} / {w}")
      out.append(f"| {t} ({CLEAN[t]}) | " + " | ".join(cells) + " |")
    out.append("")

  # Timing: the mixing arithmetic's share of the median step.
  out += ["## Step time", "", "| method | median step (ms) | median mixing (ms) | mixing share |", "|---|---|---|---|"]
  for m in methods:
    st = [r["median_step_seconds"] for r in records if r["method"] == m and r["median_step_seconds"]]
    mx = [r["median_mixing_seconds"] for r in records if r["method"] == m and r["median_mixing_seconds"] is not None]
    if st and mx:
      out.append(f"| `{m}` | {statistics.median(st) * 1e3:.2f} | {statistics.median(mx) * 1e3:.3f} | "
                 f"{statistics.median(mx) / statistics.median(st) * 100:.2f}% |")
  out.append("")
  # Per-seed numbers.
  out += ["## Per seed", "", "| task | method | " + " | ".join(f"seed {s}" for s in seeds) + " |",
          "|---|---|" + "---|" * len(seeds)]
  for t in tasks:
    for m in methods:
      if m in acc[t]:
        out.append(f"| {t} | `{m}` | " + " | ".join(
          f"{acc[t][m][s] * 100:.2f}" if s in acc[t][m] else "" for s in seeds) + " |")
  # Every paired difference the plot shows, asked for on both passes.
  base = next((b for b in a.baselines.split() if b in methods), methods[0])
  others = [m for m in methods if m != base]
  bars = {}
  for i, m in enumerate(others):
    for j, t in enumerate(tasks + ["MEAN"]):
      d = (diffs(t, m, base) if t != "MEAN" else
           (stats.paired(per_seed[m], per_seed[base]) if per_seed.get(m) and per_seed.get(base) else None))
      if d:
        bars[(i, j)] = d

  def plot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(tasks) + 2), 4.5))
    width = 0.8 / max(len(others), 1)
    for i, m in enumerate(others):
      xs, ys, es = [], [], []
      for j, t in enumerate(tasks + ["MEAN"]):
        if (i, j) not in bars:
          continue
        mm, h = bars[(i, j)]
        xs.append(j + (i - (len(others) - 1) / 2) * width)
        ys.append(mm * 100)
        es.append(0 if math.isnan(h) else h * 100)
      ax.bar(xs, ys, width, yerr=es, capsize=2, label=m)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(tasks) + 1))
    ax.set_xticklabels(tasks + [f"mean ({len(main_tasks)})"], rotation=20, ha="right")
    ax.set_ylabel(f"target {a.split} accuracy minus {base} (points)")
    ax.set_title(f"Suite: paired difference to {base}, mean ± 95% CI over {len(seeds)} seeds")
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    fig.savefig(a.plot, dpi=110)

  return out, plot


if __name__ == "__main__":
  main()
