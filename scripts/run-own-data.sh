#!/usr/bin/env bash
# Train the "Your own data" examples end to end and print the README's tables.
#
# Usage: scripts/run-own-data.sh [OUT]   (default runs/own-data; needs a release build and the data:
#   scripts/fetch-data.sh, then .venv/bin/python scripts/data/make_example_data.py)
#   1. experiments/imagefolder (image folders, PNG + JPEG) and experiments/npz (.npz feature vectors):
#      gated-pcgrad and target-only, seed 1;
#   2. experiments/motions (BasicMotions, 80 sensor recordings): every method, seeds 1-3.
# Prints one markdown table per task: the target test accuracy of each run (summary.json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/runs/own-data}
bin=$root/.build/release/gradmix
[[ -x $bin ]] || { echo "run-own-data: build first: swift build -c release" >&2; exit 1; }
mkdir -p "$out"

train() {  # CONFIG METHOD SEED NAME
  local dir=$out/$4
  [[ -f $dir/summary.json ]] && return
  rm -rf "$dir"
  "$bin" train --config "$root/$1" --method "$2" --seed "$3" --out "$dir" >"$dir.log" 2>&1 \
    || { echo "run-own-data: $4 failed, see $dir.log" >&2; exit 1; }
}

accuracy() { python3 -c 'import json,sys; s = json.load(open(sys.argv[1])); print("%.1f" % (100 * s.get("target_accuracy", s.get("target_test_accuracy"))))' "$1/summary.json"; }

for task in imagefolder npz; do
  echo "| $task | method | test accuracy (%) | wall (s) |"
  echo "|---|---|---|---|"
  for m in target-only gated-pcgrad; do
    train "experiments/$task/config.yaml" "$m" 1 "$task-$m-1"
    wall=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["wall_seconds"])' "$out/$task-$m-1/summary.json")
    echo "| | $m | $(accuracy "$out/$task-$m-1") | $wall |"
  done
  echo
done

methods=(target-only source-only finetune uniform l2rw gradmix gated-pcgrad-no-pl gated-pcgrad)
echo "| motions method | seed 1 | seed 2 | seed 3 | mean |"
echo "|---|---|---|---|---|"
for m in "${methods[@]}"; do
  row="| $m"
  accs=()
  for s in 1 2 3; do
    train experiments/motions/config.yaml "$m" "$s" "motions-$m-$s"
    a=$(accuracy "$out/motions-$m-$s")
    accs+=("$a")
    row+=" | $a"
  done
  mean=$(python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print("%.1f" % (sum(v)/len(v)))' "${accs[@]}")
  echo "$row | $mean |"
done
