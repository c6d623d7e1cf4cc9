#!/usr/bin/env bash
# The project's main job (run after scripts/setup.sh).
#
# Until the GradMix trainer lands this is the engine benchmark, `gradmix bench engine`, whose
# table goes into the README. Usage: scripts/main-job.sh [extra gradmix bench engine options]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=.build/release/gradmix
[[ -x $bin ]] || { echo "main-job: $bin is missing: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p bench-out
"$bin" bench engine --json bench-out/engine.json "$@"
