#!/usr/bin/env bash
# Transfer from a pretrained network (issue 29; results/pretrained.md):
#  1. pretrain the suite network with --method source-only on a large packaged source: `fashion` (all 60,000
#     clothing training images, another task; experiments/pretrained/fashion.yaml) or `digits` (all MNIST
#     training digits and all printed digits; experiments/pretrained/digits.yaml); its final.safetensors is
#     the weights file;
#  2. transfer to the suite's `digits` task (experiments/suite/digits: target mnist-m, 10 labelled images per
#     class, sources MNIST 0-4 and printed digits 5-9) with a new head (model.init_skip: [fc2]), as
#       scratch     random initialisation (the suite's run),
#       pretrained  model.init = the fashion weights, every layer trains,
#       frozen      model.init + model.freeze: [conv1, conv2] (the convolutional features fixed),
#     each with --method target-only and --method gated-pcgrad, seeds 1-3, at the suite's learning rates
#     (experiments/suite/learning-rates.tsv: gated-pcgrad 0.05; target-only has no entry: the config's 0.01);
#  3. the table: final test accuracy (mean ± sd over seeds), steps until the test accuracy (evaluated every
#     20 steps) first reaches the from-scratch run's final mean, and wall seconds per run.
#
# Usage: scripts/run-pretrained.sh [--source fashion|digits] [--out DIR] [--seeds "1 2 3"] [--jobs 2]
#   GRADMIX=path/to/gradmix (default .build/release/gradmix); data in data/raw (or $GRADMIX_DATA).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=
source=fashion
seeds="1 2 3"
jobs=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --source) source=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -f experiments/pretrained/$source.yaml ]] || { echo "error: --source: no experiments/pretrained/$source.yaml" >&2; exit 2; }
out=${out:-runs/pretrained-$source}
bin=${GRADMIX:-.build/release/gradmix}
[[ -x $bin ]] || { echo "error: $bin not built (swift build -c release)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
mkdir -p "$out"
start=$(date +%s)

# 1. Pretraining (once).
if [[ ! -f $out/source/final.safetensors ]]; then
  rm -rf "$out/source"
  "$bin" train --config "experiments/pretrained/$source.yaml" --method source-only --threads 1 --out "$out/source" --quiet
fi
weights=$(cd "$out/source" && pwd)/final.safetensors   # absolute: a relative model.init resolves against the config's folder

# 2. Transfers.
list=$out/runs.tsv
: >"$list"
for seed in $seeds; do
  for method in target-only gated-pcgrad; do
    lr=0.01; [[ $method == gated-pcgrad ]] && lr=0.05
    for variant in scratch pretrained frozen; do
      args="--method $method --seed $seed optimizer.lr=$lr eval_every=20"
      case $variant in
        pretrained) args+=" model.init=$weights model.init_skip=[fc2]" ;;
        frozen) args+=" model.init=$weights model.init_skip=[fc2] model.freeze=[conv1,conv2]" ;;
      esac
      printf '%s\t%s\t%s\t%s\n' "$variant" "$method" "$seed" "$args" >>"$list"
    done
  done
done
run_one() {
  local variant=$1 method=$2 seed=$3 args=$4
  local dir="$out/$variant-$method-s$seed"
  [[ -f $dir/summary.json ]] && return 0
  rm -rf "$dir"
  # shellcheck disable=SC2086
  "$bin" train --config experiments/suite/digits/config.yaml --threads 1 --quiet --out "$dir" $args >/dev/null
}
export -f run_one
export bin out
tr '\t' '\n' <"$list" | xargs -d '\n' -n 4 -P "$jobs" bash -c 'run_one "$@"' _

# 3. The table.
python3 - "$out" "$seeds" "$(( $(date +%s) - start ))" "$source" <<'PY'
import json, statistics, sys
out, seeds, wall, source = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), sys.argv[4]
def load(d):
    s = json.load(open(f"{out}/{d}/summary.json"))
    curve = [(r["step"], r.get("target_accuracy", r.get("target_test_accuracy")))
             for r in map(json.loads, open(f"{out}/{d}/metrics.jsonl"))
             if "target_accuracy" in r or "target_test_accuracy" in r]
    return s.get("target_accuracy", s.get("target_test_accuracy")), s["wall_seconds"], curve
pre = json.load(open(f"{out}/source/summary.json"))
print(f"Pretraining on {source}: {pre['steps']} steps, test accuracy on its own test split "
      f"{100 * pre.get('target_accuracy', pre.get('target_test_accuracy')):.1f}%, {pre['wall_seconds']:.0f} s.\n")
print("| method | start | test accuracy (mean ± sd, %) | per seed | steps to the scratch run's final accuracy | wall s per run |")
print("|---|---|---|---|---|---|")
for method in ("target-only", "gated-pcgrad"):
    runs = {v: [load(f"{v}-{method}-s{s}") for s in seeds] for v in ("scratch", "pretrained", "frozen")}
    goal = statistics.mean(a for a, _, _ in runs["scratch"])
    for v, rs in runs.items():
        accs = [100 * a for a, _, _ in rs]
        reach = [next((st for st, acc in c if acc >= goal), None) for _, _, c in rs]
        reached = [r for r in reach if r is not None]
        rtext = (f"{statistics.mean(reached):.0f}" if reached else "never") + (f" ({len(reached)}/{len(rs)} seeds)" if len(reached) != len(rs) else "")
        sd = statistics.stdev(accs) if len(accs) > 1 else 0
        print(f"| {method} | {v} | {statistics.mean(accs):.1f} ± {sd:.1f} | {' / '.join(f'{a:.1f}' for a in accs)} | {rtext} | {statistics.mean(w for _, w, _ in rs):.1f} |")
print(f"\nWall time of the whole script: {wall} s.")
PY
