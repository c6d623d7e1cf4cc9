#!/usr/bin/env bash
# The communication study: `gradmix bench comm` on 2, 3 and 4 ranks over shared memory and over TCP
# (--mca btl self,tcp, as between nodes), then the alpha-beta fit, the extrapolation to N nodes and K
# sources, and the plot (scripts/report/comm_report.py). Writes results/comm.json, results/comm.md,
# results/comm.png.
#
# Usage: scripts/bench-comm.sh [--ranks "2 3 4"] [--params "1e4,1e5,1e6,1e7"] [--repeats 15]
# More ranks than cores are oversubscribed (Open MPI then yields when idle): the measured points are
# for this machine, the model lines are what the fitted constants predict for a cluster.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
ranks="2 3 4" params="10000,100000,1000000,10000000" repeats=15
while (($#)); do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --params) params=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench-comm: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=${GRADMIX_BIN:-.build/release/gradmix}
[[ -x $bin ]] || { echo "bench-comm: $bin is missing: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p results
json=results/comm.json
rm -f "$json"
if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
for transport in shm tcp; do
  case $transport in
    shm) mca=(--mca btl self,vader) ;;
    tcp) mca=(--mca btl self,tcp --mca pml ob1) ;;
  esac
  for n in $ranks; do
    mpirun -np "$n" --oversubscribe "${mca[@]}" "$bin" bench comm --params "$params" --repeats "$repeats" \
      --transport "$transport" --json "$json"
  done
done
PY=$(scripts/setup-python.sh)
"$PY" scripts/report/comm_report.py --json "$json" --markdown results/comm.md --plot results/comm.png
