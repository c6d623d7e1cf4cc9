#!/usr/bin/env bash
# The project's main job (run after scripts/setup.sh): the digits benchmark with the default method (gated-pcgrad), as an MPI
# job on this machine: rank 0 coordinates (target data, evaluation, logs), ranks 1 and 2 each
# compute one source's gradients.
#
# Usage: scripts/main-job.sh [--ranks N] [extra gradmix train options]
# Output: runs/digits-gated-pcgrad/ (metrics.jsonl, summary.json, final.safetensors, ...).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
ranks=3
if [[ ${1:-} == --ranks ]]; then ranks=$2; shift 2; fi
bin=.build/release/gradmix
[[ -x $bin ]] || { echo "main-job: $bin is missing: run scripts/setup.sh first" >&2; exit 1; }
rm -rf runs/digits-gated-pcgrad  # the main job starts afresh each time
exec cluster/launch.sh --ranks "$ranks" --oversubscribe --bin "$bin" -- train --config experiments/digits/config.yaml \
  --method gated-pcgrad --out runs/digits-gated-pcgrad "$@"
