#!/usr/bin/env python3
"""The `subset` baseline of the task suite: `uniform` on the best subset of the sources, chosen on validation.

For one task (a suite config) and a list of seeds:
  1. every non-empty subset of the config's sources (the labelled target set is always in; it is not in
     `sources:`; a run needs at least one source, and no source at all is the method `target-only`) is trained with `uniform` and evaluated on the validation split, at every seed. With more than
     MAX_EXHAUSTIVE sources, a greedy forward selection replaces the full enumeration (Choice): start from
     the best single source, add the source whose addition gives the best mean validation accuracy, stop when no
     addition improves it;
  2. the subset with the best mean validation accuracy over the seeds is chosen (Choice: one subset per
     task, not one per seed, so every seed's test run is paired with the other methods' same seed);
  3. that subset is trained again with `uniform` at every seed and evaluated on the requested split; these
     runs are the method `subset` (OUT/TASK/subset-sSEED), and OUT/TASK/subset.json records the choice.

Nothing is chosen on the test split. Runs already finished (summary.json present) are reused, so an
interrupted call continues. Used by scripts/run-suite.sh (`--methods "... subset"`).
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

MAX_EXHAUSTIVE = 4  # 2^4 = 16 subsets per seed; above this, greedy forward selection


def split_sources(text):
  """Splits a config into (head lines, [source item lines], tail lines) around its top-level `sources:` list.

  Works on block-style YAML as the suite writes it: `sources:` at column 0, one item per `- ` line at a
  fixed indentation, an item's further lines indented deeper.
  """
  lines = text.splitlines(keepends=True)
  start = next((i for i, l in enumerate(lines) if re.match(r"^sources:\s*(#.*)?$", l)), None)
  if start is None:
    raise SystemExit("error: subset_oracle: the config has no top-level 'sources:' list")
  end = start + 1
  while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#", "-"))):
    end += 1
  items, dash = [], None
  for l in lines[start + 1:end]:
    m = re.match(r"^(\s*)- ", l)
    if m and (dash is None or len(m.group(1)) == dash):
      dash = len(m.group(1))
      items.append([l])
    elif items:
      items[-1].append(l)
  if not items:
    raise SystemExit("error: subset_oracle: the config's 'sources:' list is empty")
  # Trailing blank lines and comments belong to the tail, not to the last item.
  while len(items[-1]) > 1 and not items[-1][-1].strip():
    items[-1].pop()
  used = sum(len(i) for i in items)
  return lines[:start + 1], items, lines[start + 1 + used:]


def source_name(item):
  m = re.search(r"name:\s*\"?([^\",}\n]+)\"?", "".join(item))
  return m.group(1).strip() if m else None


def subset_config(text, keep):
  """The config with only the sources whose indices are in `keep` (at least one)."""
  head, items, tail = split_sources(text)
  return "".join(head + [l for i in keep for l in items[i]] + tail)


def run(args, task, cfg_text, keep, seed, split, out_dir, lr):
  """Trains `uniform` on the subset `keep` and returns the evaluated accuracy."""
  summary = os.path.join(out_dir, "summary.json")
  if not os.path.exists(summary):
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    cfg = out_dir + ".yaml"  # beside the run folder (train wants a new or empty --out)
    with open(cfg, "w") as f:
      f.write(subset_config(cfg_text, keep))
    cmd = [args.bin, "train", "--config", cfg, "--method", "uniform", "--seed", str(seed), "--eval-split", split,
           "--data-root", args.data_root, "--threads", str(args.threads), "--out", out_dir, "--quiet"]
    if args.steps:
      cmd += ["--steps", str(args.steps)]
    if lr:
      cmd.append(f"optimizer.lr={lr}")
    with open(out_dir + ".log", "w") as log:
      if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
        raise SystemExit(f"error: subset_oracle: {task} subset {keep} seed {seed} failed (see {out_dir}.log)")
  with open(summary) as f:
    s = json.load(f)
  return s["target_accuracy"] if "target_accuracy" in s else s["target_test_accuracy"]  # the evaluated split's


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--task", required=True)
  ap.add_argument("--config", required=True)
  ap.add_argument("--seeds", required=True, help='e.g. "1 2 3 4 5"')
  ap.add_argument("--split", default="test", choices=["test", "validation"])
  ap.add_argument("--out", required=True, help="the suite's run folder (OUT/TASK/subset-sSEED)")
  ap.add_argument("--search", required=True, help="folder of the validation runs of every subset tried")
  ap.add_argument("--bin", required=True)
  ap.add_argument("--data-root", required=True)
  ap.add_argument("--threads", type=int, default=1)
  ap.add_argument("--jobs", type=int, default=2)
  ap.add_argument("--steps", type=int)
  ap.add_argument("--lr", help="uniform's learning rate for this task (none: the config's)")
  a = ap.parse_args()
  with open(a.config) as f:
    text = f.read()
  _, items, _ = split_sources(text)
  names = [source_name(i) or f"sources[{k}]" for k, i in enumerate(items)]
  seeds = [int(s) for s in a.seeds.split()]
  scores = {}  # subset (tuple of indices) -> mean validation accuracy over the seeds

  def evaluate(subsets):
    todo = [s for s in subsets if s not in scores]
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
      futures = {(s, seed): pool.submit(run, a, a.task, text, list(s), seed, "validation",
                                        os.path.join(a.search, a.task, "s" + "-".join(map(str, s)) + f"-s{seed}"), a.lr)
                 for s in todo for seed in seeds}
      for s in todo:
        scores[s] = statistics.fmean(futures[(s, seed)].result() for seed in seeds)

  k = len(items)
  if k <= MAX_EXHAUSTIVE:
    search = "exhaustive"
    evaluate([c for r in range(1, k + 1) for c in itertools.combinations(range(k), r)])
    best = max(scores, key=lambda s: (scores[s], -len(s)))
  else:
    search = "greedy forward"
    singles = [(j,) for j in range(k)]
    evaluate(singles)
    best = max(singles, key=lambda s: scores[s])
    while len(best) < k:
      cands = [tuple(sorted(best + (j,))) for j in range(k) if j not in best]
      evaluate(cands)
      nxt = max(cands, key=lambda s: scores[s])
      if scores[nxt] <= scores[best]:
        break
      best = nxt
  print(f"subset_oracle: {a.task}: {search} over {len(scores)} subsets x {len(seeds)} seeds; chosen "
        f"{[names[i] for i in best] or 'no source'} (validation {scores[best] * 100:.2f}%)", file=sys.stderr)
  accs = {seed: run(a, a.task, text, list(best), seed, a.split, os.path.join(a.out, a.task, f"subset-s{seed}"), a.lr)
          for seed in seeds}
  with open(os.path.join(a.out, a.task, "subset.json"), "w") as f:
    json.dump({"task": a.task, "search": search, "chosen": [names[i] for i in best], "chosen_indices": list(best),
               "validation_mean_accuracy": {",".join(names[i] for i in s) or "(none)": v for s, v in scores.items()},
               "seeds": seeds, "lr": a.lr, "split": a.split, f"{a.split}_accuracy": accs}, f, indent=1)


if __name__ == "__main__":
  main()
