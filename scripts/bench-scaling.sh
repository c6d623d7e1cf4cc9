#!/usr/bin/env bash
# Scaling study of `gradmix train` over ranks: weak scaling (K sources on K+1 ranks, rank 0 computing
# the target gradient) and strong scaling (2 sources on 1 process and on 3..N ranks, the sources'
# batches split over the workers when they outnumber the sources). Every run is 1 engine thread per
# rank, the sources of experiments/many-sources (first K), method gated-pcgrad-no-pl with the target not
# mixed in as a source, so the K sources are the only source work. Writes results/scaling.json,
# results/scaling.md and results/scaling.png (scripts/report/scaling_report.py): median step per
# phase of rank 0 (summary.json median_seconds) and each rank's median step.
#
# Usage: scripts/bench-scaling.sh [--weak "1 2 3"] [--strong "3 4 5"] [--steps 40] [--repeats 3]
#                                 [--data-root DIR] [--machine LABEL]
# On a machine with fewer cores than ranks Open MPI oversubscribes (time-slicing): say so with
# --machine, the numbers then measure scheduling, not scaling.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
weak="1 2 3" strong="3 4 5" steps=40 repeats=3 data_root=${GRADMIX_DATA:-data/raw}
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
while (($#)); do
  case $1 in
    --weak) weak=$2; shift 2 ;;
    --strong) strong=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --data-root) data_root=$2; shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench-scaling: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=${GRADMIX_BIN:-.build/release/gradmix}
[[ -x $bin ]] || { echo "bench-scaling: $bin is missing: run scripts/setup.sh first" >&2; exit 1; }
# The method by its name in $bin (a binary from before the names of 2026-12-05 calls it gradmix-no-pl).
method=gated-pcgrad-no-pl
"$bin" info --methods | grep -qx "$method" || method=gradmix-no-pl
if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p results
records=$work/records.jsonl

# config K: experiments/many-sources with its first K sources, the target not a source, no evaluation.
make_config() {
  awk -v k="$1" -v steps="$steps" '
    /^sources:/ { insrc = 1; n = 0; print; next }
    insrc && /^  - / { if (n++ < k) print; next }
    insrc && !/^  - / { insrc = 0 }
    /^target:/ { print; print "  as_source: false"; next }
    /^steps:/ { print "steps: " steps; next }
    /^eval_every:/ { print "eval_every: " steps; next }
    /^pseudo_labels:/ { next }
    { print }' experiments/many-sources/config.yaml > "$work/k$1.yaml"
}

# run LABEL K RANKS: one training run; appends its record.
run() {
  local label=$1 k=$2 n=$3 rep=$4 out=$work/run-$1-$2-$3-$4
  local args=(train --config "$work/k$k.yaml" --data-root "$data_root" --method "$method" --threads 1
              --quiet --check-every 0 --out "$out")
  if ((n == 1)); then "$bin" "${args[@]}"; else mpirun -np "$n" --oversubscribe "$bin" "${args[@]}"; fi
  python3 - "$out/summary.json" "$label" "$k" "$n" "$rep" >> "$records" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"study": sys.argv[2], "sources": int(sys.argv[3]), "ranks": int(sys.argv[4]),
                  "repeat": int(sys.argv[5]), "median_seconds": s["median_seconds"],
                  "per_rank_median_step": [r["median_step"] for r in s["per_rank"]],
                  "params_l2": s["params_l2"]}))
PY
}

for rep in $(seq 1 "$repeats"); do
  for k in $weak; do
    make_config "$k"
    run weak "$k" 1 "$rep"
    run weak "$k" $((k + 1)) "$rep"
  done
  make_config 2
  run strong 2 1 "$rep"
  for n in $strong; do run strong 2 "$n" "$rep"; done
done
PY=$(scripts/setup-python.sh)
"$PY" scripts/report/scaling_report.py --records "$records" --json results/scaling.json \
  --markdown results/scaling.md --plot results/scaling.png --machine "$machine" --steps "$steps"
