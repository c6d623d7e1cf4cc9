#!/usr/bin/env bash
# The digits benchmark: every method over 3 seeds on experiments/digits, the UCI variant with four
# methods, and the noisy-source robustness check; writes results/digits.md and the weights plot.
#
# Usage: scripts/run-benchmark.sh [--steps N] [--seeds "1 2 3"] [--jobs J] [--out DIR]
#   --jobs J   runs J trainings at once, each with 2/J BLAS threads (default 2: two 1-thread runs,
#              which use the 2 cores better than one 2-thread run)
# Needs scripts/setup.sh first (release binary and data). Runs land in DIR (default runs/benchmark),
# one folder per (experiment, method, seed), run by `gradmix sweep`: a run whose summary.json exists
# is not repeated, an interrupted one continues from its newest checkpoint.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
steps=600 seeds="1 2 3" jobs=2 out=runs/benchmark
while (($#)); do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run-benchmark: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=${GRADMIX_BIN:-.build/release/gradmix}
[[ -x $bin ]] || { echo "run-benchmark: $bin is missing: run scripts/setup.sh first" >&2; exit 1; }
threads=$(( $(nproc) / jobs )); ((threads >= 1)) || threads=1
mkdir -p "$out" results
echo "run-benchmark: $steps steps, seeds $seeds, $jobs run(s) at a time with $threads thread(s) each -> $out"

seed_list=$(echo $seeds | tr ' ' ',')
start=$(date +%s)
# One `gradmix sweep` per experiment: its runs as child processes, $jobs at a time; finished runs
# (summary.json) are skipped and interrupted ones continue from their checkpoints (--resume).
sweep() {
  local exp=$1 methods=$2
  "$bin" sweep --config "experiments/$exp/config.yaml" --methods "$methods" --seeds "$seed_list" \
    --steps "$steps" --jobs "$jobs" --threads "$threads" --out "$out" --prefix "$exp-" --resume
}
sweep digits target-only,source-only,finetune,uniform,l2rw,gradmix,gated-pcgrad-no-pl,gated-pcgrad
sweep digits-uci uniform,target-only,gradmix,gated-pcgrad
sweep digits-noise uniform,gradmix,gated-pcgrad
elapsed=$(( $(date +%s) - start ))
PY=$(scripts/setup-python.sh)
"$PY" scripts/report/digits_report.py --runs "$out" --steps "$steps" --elapsed "$elapsed" --jobs "$jobs" \
  --threads "$threads" --command "scripts/run-benchmark.sh --steps $steps --seeds \"$seeds\" --jobs $jobs" \
  --markdown results/digits.md --plot results/digits-weights.png
echo "run-benchmark: wrote results/digits.md and results/digits-weights.png ($elapsed s)"
