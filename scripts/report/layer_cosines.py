#!/usr/bin/env python3
"""Per task and (source, layer): the mean ± s.d. over steps of cos(g_T,l, g_k,l), and the mean label score the
label gate thresholds (and the class match, in runs from before 2026-12-05 that logged it), from runs logged
with `log_every=1`.

Usage: layer_cosines.py RUNS [--skip N]   (runs in RUNS/TASK-sSEED/metrics.jsonl; steps <= N left out, default 32)
Made the table in results/screens/2026-12-05-harm-kinds-validation.md (the command is there).
"""
import argparse
import collections
import glob
import json
import math
import os
import statistics


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("runs")
  ap.add_argument("--skip", type=int, default=32)
  a = ap.parse_args()
  tasks = sorted({os.path.basename(d).rsplit("-s", 1)[0] for d in glob.glob(os.path.join(a.runs, "*-s*"))})
  for t in tasks:
    cos = collections.defaultdict(lambda: collections.defaultdict(list))
    label, match = collections.defaultdict(list), collections.defaultdict(list)
    for d in sorted(glob.glob(os.path.join(a.runs, f"{t}-s*"))):
      with open(os.path.join(d, "metrics.jsonl")) as f:
        for line in f:
          r = json.loads(line)
          tn = r.get("target_squared_norms")
          if r.get("skipped") or r.get("step", 0) <= a.skip or not tn:
            continue
          for k, dots in r["dots"].items():
            sn = r["source_squared_norms"].get(k)
            for l, (dt, s2, t2) in enumerate(zip(dots, sn or [], tn)):
              if s2 > 0 and t2 > 0:
                cos[k][l].append(dt / math.sqrt(s2 * t2))
          for k, v in r.get("label_scores", {}).items():
            label[k].append(v)
          for k, v in r.get("label_matches", {}).items():
            match[k].append(v)
    print(f"== {t}")
    for k in sorted(cos):
      cells = " ".join(f"{statistics.fmean(cos[k][l]):+.3f}±{statistics.stdev(cos[k][l]):.2f}" for l in sorted(cos[k]))
      lab = f"{statistics.fmean(label[k]):+.3f}" if label[k] else "n/a"
      old = f" match {statistics.fmean(match[k]):+.3f}" if match[k] else ""
      print(f"  {k:22s} cos/layer {cells} | label {lab}{old}")


if __name__ == "__main__":
  main()
