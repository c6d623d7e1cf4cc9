#!/usr/bin/env python3
"""Diagnoses the per-step GradMix statistics of runs logged with `log_every: 1`.

Reads metrics.jsonl records that carry `dots` and `source_squared_norms` per source and
`target_squared_norms` (the step's exchanged statistics) and reports, per (source, layer):
- noise: the mean dot product over steps, its standard deviation, their ratio (the coefficient of
  variation; above 1 the sign of one step's dot is close to a coin flip) and the fraction of steps
  with a positive dot;
- the cosine with the target gradient (mean over steps);
- the weight the paper's layer-wise rule gave (mean), against the weight the same rule gives to the
  dots averaged over all steps (what a noise-free estimate would give);
- per layer: the fraction of steps in which exactly one source had a positive dot (so normalisation
  gave it the whole layer, weight 1), and that source's mean cosine in those steps.

Usage: weight_diagnostics.py RUN_DIR [RUN_DIR ...] [--skip N] [--markdown FILE]
"""
import argparse
import json
import math
import os
import statistics


def load(run_dir, skip):
  recs = []
  with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    for line in f:
      r = json.loads(line)
      if "dots" in r and r.get("step", 0) > skip and not r.get("skipped"):
        recs.append(r)
  return recs


def analyse(run_dir, skip):
  recs = load(run_dir, skip)
  if not recs:
    return [f"{run_dir}: no records with dots after step {skip}"]
  layers = recs[0]["layers"]
  names = [n for n in recs[0]["dots"]]
  out = [f"### {run_dir} ({len(recs)} steps after step {skip})", "",
         "| source | layer | mean dot | std | std / abs(mean) | P(dot > 0) | mean cos | mean weight (per step) "
         "| weight of the mean dots |", "|---|---|---|---|---|---|---|---|---|"]
  # Weights the layer-wise rule gives to the dots averaged over steps.
  mean_dots = {n: [statistics.fmean(r["dots"][n][l] for r in recs if n in r["dots"]) for l in range(len(layers))]
               for n in names}
  for n in names:
    for l, layer in enumerate(layers):
      ds = [r["dots"][n][l] for r in recs if n in r["dots"]]
      if len(ds) < 2:
        continue
      m, sd = statistics.fmean(ds), statistics.stdev(ds)
      cos = []
      for r in recs:
        if n in r["dots"]:
          den = r["source_squared_norms"][n][l] * r["target_squared_norms"][l]
          if den > 0:
            cos.append(r["dots"][n][l] / math.sqrt(den))
      ws = [r["weights"][n][l] for r in recs if n in r["weights"] and n in r["dots"]]
      pos = sum(max(mean_dots[k][l], 0) for k in names)
      w_mean = max(mean_dots[n][l], 0) / pos if pos > 0 else 0
      out.append(f"| {n} | {layer} | {m:.3g} | {sd:.3g} | {sd / abs(m) if m else float('inf'):.2f} | "
                 f"{sum(d > 0 for d in ds) / len(ds):.2f} | {statistics.fmean(cos) if cos else float('nan'):.3f} | "
                 f"{statistics.fmean(ws) if ws else float('nan'):.3f} | {w_mean:.3f} |")
  out += ["", "| layer | P(exactly one source > 0) | that source's mean cos then | sources |", "|---|---|---|---|"]
  for l, layer in enumerate(layers):
    lone, cos, who = 0, [], {}
    for r in recs:
      positive = [n for n in r["dots"] if r["dots"][n][l] > 0]
      if len(positive) == 1:
        lone += 1
        n = positive[0]
        who[n] = who.get(n, 0) + 1
        den = r["source_squared_norms"][n][l] * r["target_squared_norms"][l]
        if den > 0:
          cos.append(r["dots"][n][l] / math.sqrt(den))
    out.append(f"| {layer} | {lone / len(recs):.3f} | {statistics.fmean(cos) if cos else float('nan'):.3f} | "
               + ", ".join(f"{k} {v}" for k, v in sorted(who.items(), key=lambda kv: -kv[1])) + " |")
  out.append("")
  return out


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("runs", nargs="+")
  ap.add_argument("--skip", type=int, default=20, help="ignore the first N steps (warm-up)")
  ap.add_argument("--markdown")
  a = ap.parse_args()
  out = []
  for r in a.runs:
    out += analyse(r, a.skip)
  text = "\n".join(out) + "\n"
  if a.markdown:
    with open(a.markdown, "w") as f:
      f.write(text)
  print(text)


if __name__ == "__main__":
  main()
