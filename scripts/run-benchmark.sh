#!/usr/bin/env bash
# The digits benchmark: every method over 3 seeds on experiments/digits, the UCI variant with three
# methods, and the noisy-source robustness check; writes results/digits.md and the weights plot.
#
# Usage: scripts/run-benchmark.sh [--steps N] [--seeds "1 2 3"] [--jobs J] [--out DIR]
#   --jobs J   runs J trainings at once, each with 2/J BLAS threads (default 2: two 1-thread runs,
#              which use the 2 cores better than one 2-thread run)
# Needs scripts/setup.sh first (release binary and data). Runs land in DIR (default runs/benchmark),
# one folder per (experiment, method, seed); a run whose summary.json exists is not repeated.
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

methods="target-only source-only finetune uniform l2rw gradmix-no-alr gradmix-no-pl gradmix"
jobs_file=$(mktemp)
for seed in $seeds; do
  for m in $methods; do echo "digits $m $seed"; done
  for m in uniform target-only gradmix; do echo "digits-uci $m $seed"; done
  for m in uniform gradmix; do echo "digits-noise $m $seed"; done
done >"$jobs_file"
total=$(wc -l <"$jobs_file")
echo "run-benchmark: $total runs of $steps steps, $jobs at a time with $threads thread(s) each -> $out"
start=$(date +%s)
run_one() {
  local exp=$1 method=$2 seed=$3 dir="$out/$1-$2-s$3"
  [[ -f $dir/summary.json ]] && { echo "  skip $exp $method seed $seed (done)"; return 0; }
  rm -rf "$dir"  # an unfinished run of an earlier call starts again
  "$bin" train --config "experiments/$exp/config.yaml" --method "$method" --seed "$seed" --steps "$steps" \
    --threads "$threads" --out "$dir" --quiet >"$dir.log" 2>&1 || { echo "  FAILED $exp $method seed $seed (see $dir.log)" >&2; return 1; }
  echo "  done $exp $method seed $seed: $(tail -1 "$dir.log")"
}
export -f run_one
export bin out steps threads
xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ <"$jobs_file"
rm -f "$jobs_file"
elapsed=$(( $(date +%s) - start ))
PY=$(scripts/setup-python.sh)
"$PY" scripts/report/digits_report.py --runs "$out" --steps "$steps" --elapsed "$elapsed" --jobs "$jobs" \
  --threads "$threads" --command "scripts/run-benchmark.sh --steps $steps --seeds \"$seeds\" --jobs $jobs" \
  --markdown results/digits.md --plot results/digits-weights.png
echo "run-benchmark: wrote results/digits.md and results/digits-weights.png ($elapsed s)"
