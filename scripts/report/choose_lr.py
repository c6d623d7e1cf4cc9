#!/usr/bin/env python3
"""Chooses each suite method's learning rate per task on the validation split.

Reads the runs of a validation grid (scripts/run-suite.sh --eval-split validation, one run per task,
method, learning rate and seed; a run's learning rate is its `optimizer.lr=` override, else its task
config's `optimizer.lr`), keeps the runs whose only override is the learning rate, and picks for every
(task, method) the rate with the highest mean validation accuracy over the seeds (ties: the smaller
rate). Writes the table scripts/run-suite.sh reads (task, method, lr; tab-separated) and a markdown
report of every cell.

With --keep-others, the rows of the methods these runs do not hold are kept from the existing TSV and
markdown (a grid rerun for one method after its rule changed; the other methods' cells stay the earlier
grid's, which the markdown's header should then name through --command).

The methods and their order are the suite's, from `gradmix info --methods --suite` (--bin, else
$GRADMIX_BIN, else .build/release/gradmix).

Usage: choose_lr.py --runs DIR [--runs DIR ...] [--rates 0.01 0.03 0.05] --tsv experiments/suite/learning-rates.tsv
                    --markdown results/screens/suite-lr-validation.md [--keep-others] [--command TEXT] [--bin PATH]
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

import gradmix_tool


def config_lr(config_path):
  """optimizer.lr of a suite config (the one number under `optimizer:`)."""
  text = open(config_path).read()
  m = re.search(r"^optimizer:\s*\n(?:\s+.*\n)*?\s+lr:\s*([0-9.eE+-]+)", text, re.M)
  if not m:
    sys.exit(f"error: {config_path}: optimizer.lr: not found")
  return float(m.group(1))


def collect(dirs):
  """{(task, method, lr): {seed: validation accuracy %}} from the runs that override only the lr."""
  cells = {}
  for d in dirs:
    for path in glob.glob(os.path.join(d, "*", "*", "summary.json")):
      s = json.load(open(path))
      if s.get("eval_split") != "validation" or s.get("status") != "completed":
        continue
      tokens = s["command"].split()
      overrides = [t for t in tokens if "=" in t and not t.startswith("-")]
      if any(not t.startswith("optimizer.lr=") for t in overrides):
        continue  # a rule variant, not a point of the grid
      lr = next((float(t.split("=", 1)[1]) for t in overrides), None)
      if lr is None:
        lr = config_lr(s["config"])
      task = os.path.basename(os.path.dirname(s["config"]))
      cells.setdefault((task, s["method"], lr), {})[s["seed"]] = 100 * (s["target_accuracy"] if "target_accuracy" in s else s["target_test_accuracy"])
  return cells


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--runs", action="append", required=True)
  ap.add_argument("--tsv", required=True)
  ap.add_argument("--markdown", required=True)
  ap.add_argument("--rates", type=float, nargs="+", help="the grid (default: every rate found)")
  ap.add_argument("--command", default="")
  ap.add_argument("--keep-others", action="store_true",
                  help="keep the existing TSV's and markdown's rows of the methods absent from --runs")
  ap.add_argument("--bin", help="the gradmix binary whose `info --methods --suite` lists the methods")
  a = ap.parse_args()
  suite_methods = gradmix_tool.methods(gradmix_tool.binary(a.bin), suite=True)
  cells = collect(a.runs)
  if not cells:
    sys.exit("error: --runs: no completed validation runs with only an optimizer.lr override")
  tasks = sorted({t for t, _, _ in cells})
  rates = sorted(set(a.rates) if a.rates else {r for _, _, r in cells})
  methods = [m for m in suite_methods if any(k[1] == m for k in cells)]
  chosen = {}
  for t in tasks:
    for m in methods:
      # Only rates with every seed the others have count (a partial cell is not compared).
      seeds = max((len(cells.get((t, m, r), {})) for r in rates), default=0)
      full = [(statistics.fmean(cells[(t, m, r)].values()), -r, r) for r in rates
              if len(cells.get((t, m, r), {})) == seeds and seeds > 0]
      for r in rates:
        n = len(cells.get((t, m, r), {}))
        if 0 < n < seeds or (n == 0 and seeds > 0):
          print(f"choose_lr: warning: {t} {m}: lr {r:g} has {n} of {seeds} seeds; not compared", file=sys.stderr)
      if full:
        chosen[(t, m)] = max(full)[2]
  kept_rates, kept_rows = {}, {}
  if a.keep_others:
    kept_rates, kept_rows = kept(a.tsv, a.markdown, methods, rates)
  chosen_all = dict(chosen)
  chosen_all.update(kept_rates)
  with open(a.tsv + ".tmp", "w") as f:
    f.write("# task\tmethod\tlr  (chosen on the validation split by scripts/report/choose_lr.py; "
            "read by scripts/run-suite.sh)\n")
    for (t, m), r in sorted(chosen_all.items()):
      f.write(f"{t}\t{m}\t{r:g}\n")
  os.replace(a.tsv + ".tmp", a.tsv)
  lines = ["# Task suite: learning rate per task and method, chosen on the validation split", ""]
  if a.command:
    lines += [f"Generated by `scripts/report/choose_lr.py` from {', '.join(f'`{d}`' for d in a.runs)}; "
              f"grid: {a.command}.", ""]
  lines += ["Mean validation accuracy (%) over the seeds at each learning rate; **bold**: the rate chosen "
            f"(the best mean; ties go to the smaller rate), written to `{a.tsv}`.", ""]
  lines += ["| task | method | " + " | ".join(f"lr {r:g}" for r in rates) + " | seeds |",
            "|---|---|" + "---|" * len(rates) + "---|"]
  for t in sorted(set(tasks) | {t for t, _ in kept_rows}):
    for m in suite_methods:
      if (t, m) in kept_rows:
        lines.append(kept_rows[(t, m)])
        continue
      if m not in methods or t not in tasks:
        continue
      row = []
      for r in rates:
        c = cells.get((t, m, r))
        if not c:
          row.append("")
          continue
        v = f"{statistics.fmean(c.values()):.2f}"
        row.append(f"**{v}**" if chosen.get((t, m)) == r else v)
      n = max(len(cells.get((t, m, r), {})) for r in rates)
      lines.append(f"| {t} | `{m}` | " + " | ".join(row) + f" | {n} |")
  with open(a.markdown + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
  os.replace(a.markdown + ".tmp", a.markdown)
  print(f"choose_lr: {len(chosen)} (task, method) rates chosen, {len(kept_rates)} kept -> {a.tsv}, {a.markdown}")


def kept(tsv, markdown, methods, rates):
  """The existing table's rates and markdown rows of every method not in `methods`."""
  for path in (tsv, markdown):
    if not os.path.isfile(path):
      sys.exit(f"error: --keep-others: {path}: file not found")
  rates_kept = {}
  for line in open(tsv):
    if line.startswith("#") or not line.strip():
      continue
    t, m, r = line.rstrip("\n").split("\t")
    if m not in methods:
      rates_kept[(t, m)] = float(r)
  rows = {}
  header = "| task | method | " + " | ".join(f"lr {r:g}" for r in rates) + " | seeds |"
  lines = open(markdown).read().splitlines()
  if header not in lines:
    sys.exit(f"error: --keep-others: {markdown}: its table is not of the rates {' '.join(f'{r:g}' for r in rates)}")
  for line in lines[lines.index(header) + 2:]:
    cells = [c.strip() for c in line.strip("|").split("|")]
    if not line.startswith("|") or len(cells) < 2:
      break
    m = cells[1].strip("`")
    if m not in methods:
      rows[(cells[0], m)] = line
  return rates_kept, rows


if __name__ == "__main__":
  main()
