#!/usr/bin/env bash
# The task suite (experiments/suite/*): every method over every task and seed, in parallel and
# resumable; writes results/<name>.json (one record per run), results/<name>.md (per task: mean ± 95% CI,
# paired differences to uniform and l2rw, gated-pcgrad against every method, the mean over tasks, wall time)
# and results/<name>.png.
#
# Usage: scripts/run-suite.sh [--seeds "1 2 3 4 5"] [--steps N] [--jobs J] [--tasks "digits ..."]
#          [--methods "uniform l2rw ..."] [--eval-split test|validation] [--name NAME] [--out DIR]
#          [--variant TAG=ARGS]... [--lr-table FILE|none]
#   --jobs J         runs J trainings at once, each with max(1, cores/J) BLAS threads (default 2)
#   --eval-split     test (default; the tables) or validation (held out of the target's unlabelled
#                    draw, disjoint from test: what rules and hyperparameters are chosen on)
#   --name NAME      results/NAME.{json,md,png} (default suite, or screens/suite-validation)
#   --variant T=A    also run method "T" as `gradmix train ... A` (e.g. 'hold0=--method gated-pcgrad weighting.hold=0'),
#                    recorded under the method name T
#   --methods        default: `gradmix info --methods --suite` (the one method list), then `subset`;
#                    may include `subset`: uniform on the best subset of each task's sources, chosen on the
#                    validation split (scripts/report/subset_oracle.py; its search runs go to OUT-subsets/)
#   --lr-table FILE  per (task, method) learning rates chosen on the validation split (default
#                    experiments/suite/learning-rates.tsv; `none`: every run at its config's optimizer.lr):
#                    a method gets `optimizer.lr=` from it, and so does a variant, by its --method, unless
#                    its arguments set optimizer.lr themselves
# A run whose summary.json exists is skipped, so an interrupted call continues where it stopped;
# an unfinished run starts again. Needs the release binary (swift build -c release) and the data.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seeds="1 2 3 4 5" steps="" jobs=2 split=test name="" out=""
default_tasks="digits digits-uci digits-noise digits-permuted digits-foreign digits-relabelled digits-folded cross-task digits-5shot many-sources many-sources-clean"
tasks=$default_tasks methods=""
variants=() lr_table=experiments/suite/learning-rates.tsv
while (($#)); do
  case $1 in
    --seeds) seeds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --eval-split) split=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --lr-table) lr_table=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "error: run-suite: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ $split == test || $split == validation ]] || { echo "error: --eval-split: must be test or validation, got '$split'" >&2; exit 2; }
[[ -n $name ]] || { [[ $split == test ]] && name=suite || name=screens/suite-validation; }
[[ -n $out ]] || out=runs/suite-$split
bin=${GRADMIX_BIN:-.build/release/gradmix}
[[ -x $bin ]] || { echo "error: $bin: missing; run swift build -c release first" >&2; exit 1; }
# The methods the suite compares (Method.suite), then the subset oracle (a baseline, not a method).
default_methods="$("$bin" info --methods --suite | tr '\n' ' ')subset"
[[ -n $methods ]] || methods=$default_methods
data=${GRADMIX_DATA:-data/raw}
for t in $tasks; do
  [[ -f experiments/suite/$t/config.yaml ]] || { echo "error: --tasks: no experiments/suite/$t/config.yaml" >&2; exit 2; }
done
if [[ $lr_table != none ]]; then
  [[ -f $lr_table ]] || { echo "error: --lr-table: $lr_table: file not found (or pass --lr-table none)" >&2; exit 2; }
fi
# The learning rate of method $2 on task $1 from the table ("" when none).
lr_of() {
  [[ $lr_table == none ]] && return 0
  awk -F'\t' -v t="$1" -v m="$2" '!/^#/ && $1 == t && $2 == m { print $3; exit }' "$lr_table"
}
# " optimizer.lr=X" for a run of task $1 with train arguments $2 (none if they set it, or no entry).
lr_args() {
  [[ $2 == *optimizer.lr=* ]] && return 0
  local m lr
  m=$(sed -n 's/.*--method \([^ ]*\).*/\1/p' <<<"$2")
  [[ -n $m ]] || return 0
  lr=$(lr_of "$1" "$m")
  [[ -z $lr ]] || printf ' optimizer.lr=%s' "$lr"
}
threads=$(( $(nproc) / jobs )); ((threads >= 1)) || threads=1
mkdir -p "$out" "results/$(dirname "$name")"

# One line per run: task, method tag, seed, then the train arguments.
jobs_file=$(mktemp)
trap 'rm -f "$jobs_file"' EXIT
for seed in $seeds; do
  for t in $tasks; do
    for m in $methods; do [[ $m == subset ]] && continue; printf '%s\t%s\t%s\t--method %s%s\n' "$t" "$m" "$seed" "$m" "$(lr_args "$t" "--method $m")"; done
    for v in "${variants[@]}"; do
      printf '%s\t%s\t%s\t%s%s\n' "$t" "${v%%=*}" "$seed" "${v#*=}" "$(lr_args "$t" "${v#*=}")"
    done
  done
done >"$jobs_file"
total=$(wc -l <"$jobs_file")
echo "run-suite: $total runs ($split split${steps:+, $steps steps}), $jobs at a time with $threads thread(s) each -> $out"
start=$(date +%s)
run_one() {
  local task=$1 tag=$2 seed=$3 args=$4 dir="$out/$1/$2-s$3"
  [[ -f $dir/summary.json ]] && return 0
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  # shellcheck disable=SC2086  # args is a list of options
  if "$bin" train --config "experiments/suite/$task/config.yaml" $args --seed "$seed" ${steps:+--steps $steps} \
      --eval-split "$split" --data-root "$data" --threads "$threads" --out "$dir" --quiet >"$dir.log" 2>&1; then
    echo "  $task $tag seed $seed: $(tail -1 "$dir.log" | sed 's/ -> .*//')"
  else
    echo "  FAILED $task $tag seed $seed (see $dir.log)" >&2
  fi
}
export -f run_one
export bin out steps threads split data
tr '\n' '\0' <"$jobs_file" | xargs -0 -P "$jobs" -I{} bash -c 'IFS=$'"'\t'"' read -r t m s a <<<"$1"; run_one "$t" "$m" "$s" "$a"' _ {}
if [[ " $methods " == *" subset "* ]]; then
  PY=${PYTHON:-$root/.venv/bin/python}
  [[ -x $PY ]] || PY=$(scripts/setup-python.sh)
  for t in $tasks; do
    lr=$(lr_of "$t" uniform)
    "$PY" scripts/report/subset_oracle.py --task "$t" --config "experiments/suite/$t/config.yaml" --seeds "$seeds" \
      --split "$split" --out "$out" --search "$out-subsets" --bin "$bin" --data-root "$data" --threads "$threads" \
      --jobs "$jobs" ${steps:+--steps "$steps"} ${lr:+--lr "$lr"}
  done
fi
elapsed=$(( $(date +%s) - start ))
# The call as it was made (every option that changes what ran), for the report's header.
command="scripts/run-suite.sh --seeds \"$seeds\"${steps:+ --steps $steps} --jobs $jobs --eval-split $split"
[[ $tasks == "$default_tasks" ]] || command+=" --tasks \"$tasks\""
[[ $methods == "$default_methods" ]] || command+=" --methods \"$methods\""
for v in "${variants[@]}"; do command+=" --variant '$v'"; done
[[ $lr_table == experiments/suite/learning-rates.tsv ]] || command+=" --lr-table $lr_table"
PY=${PYTHON:-$root/.venv/bin/python}
[[ -x $PY ]] || PY=$(scripts/setup-python.sh)
"$PY" scripts/report/suite_report.py --runs "$out" --bin "$bin" --split "$split" --elapsed "$elapsed" --jobs "$jobs" \
  --command "$command" \
  --json "results/$name.json" --markdown "results/$name.md" --plot "results/$name.png"
echo "run-suite: wrote results/$name.{json,md,png} ($elapsed s)"
