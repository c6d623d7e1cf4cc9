#!/usr/bin/env bash
# Launch `gradmix` on several ranks with mpirun and sensible flags.
#
# Usage: cluster/launch.sh [--ranks N] [--hostfile FILE] [--ranks-per-node P] [--transport T]
#                          [--threads K] [--bin PATH] [--oversubscribe] [--dry-run] -- GRADMIX-ARGS...
#   --ranks N           total ranks (default: 1 coordinator + 1 per source is a good start)
#   --hostfile FILE     Open MPI hostfile ("node slots=P" per line; see cluster/hostfile.example)
#   --ranks-per-node P  ranks placed on each node (default: fill each node's slots)
#   --transport T       shm: shared memory within a node (+ TCP between nodes), the default;
#                       tcp: TCP only (what traffic between nodes looks like, also on one node);
#                       ib:  InfiniBand/RoCE through UCX
#   --threads K         BLAS threads per rank (default: cores per node / ranks per node)
#   --bin PATH          the gradmix binary (default: .build/release/gradmix next to this folder)
#   --oversubscribe     allow more ranks than cores on a node (slower; for a laptop or CI)
#   --stop-grace S      after SIGTERM/SIGINT, seconds the ranks get to checkpoint before mpirun kills them (10)
#   --dry-run           print the mpirun command instead of running it
# The shared-memory transport is `vader` in Open MPI 4 and `sm` in Open MPI 5; the version is detected.
# Example: cluster/launch.sh --ranks 3 -- train --config experiments/digits/config.yaml --out runs/x
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ranks=3 hostfile="" per_node="" transport=shm threads="" bin="$root/.build/release/gradmix" dry=0 oversubscribe=0
stop_grace=10
while (($#)); do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --hostfile) hostfile=$2; shift 2 ;;
    --ranks-per-node) per_node=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --oversubscribe) oversubscribe=1; shift ;;
    --stop-grace) stop_grace=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "launch: unknown option '$1' (put gradmix's own arguments after --)" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "launch: no gradmix arguments after -- (e.g. -- train --config FILE)" >&2; exit 2; }
[[ -x $bin ]] || { echo "launch: $bin is not an executable (build with scripts/setup.sh or pass --bin)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "launch: mpirun not found (install Open MPI; scripts/setup.sh does on Debian)" >&2; exit 2; }

args=(-np "$ranks")
[[ -n $hostfile ]] && { [[ -r $hostfile ]] || { echo "launch: cannot read hostfile $hostfile" >&2; exit 2; }; args+=(--hostfile "$hostfile"); }
# Place ranks by node and bind each to its cores, so ranks sharing a node do not fight over cores.
if [[ -n $per_node ]]; then
  args+=(--map-by "ppr:$per_node:node" --bind-to none)
else
  args+=(--map-by slot --bind-to none)
fi
# Open MPI 5 renamed the shared-memory BTL from vader to sm.
shm_btl=vader ompi_major=4
if [[ $(mpirun --version 2>/dev/null | head -1) =~ \)\ ([0-9]+)\. ]]; then ompi_major=${BASH_REMATCH[1]}; fi
((ompi_major >= 5)) && shm_btl=sm
case $transport in
  shm) args+=(--mca btl "self,$shm_btl,tcp") ;;
  tcp) args+=(--mca btl self,tcp --mca pml ob1) ;;
  ib)  args+=(--mca pml ucx --mca btl "^$shm_btl,tcp,openib") ;;
  *) echo "launch: --transport must be shm, tcp or ib, got '$transport'" >&2; exit 2 ;;
esac
# After a signal, mpirun sends SIGTERM to the ranks and SIGKILL odls_base_sigkill_timeout seconds later
# (Open MPI 4's default: 1 s). A rank finishing a slow step and writing the checkpoint was killed by it
# (SignalTests.launcher flaked under load: exit 75 with no checkpoint). Choice: 10 s by default. The cost:
# mpirun waits out the grace once per rank of the node even when the ranks have exited (measured: 2 ranks,
# 5 s grace, ranks exiting at once: 9.4 s), so a stopped job ends that much later; Slurm's KillWait (30 s)
# bounds it. (Open MPI 5's PRRTE has its own parameter; not set here, untested.)
((ompi_major < 5)) && args+=(--mca odls_base_sigkill_timeout "$stop_grace")
# More ranks than cores on a node only when asked (slower, but useful on a laptop or in CI).
((oversubscribe)) && args+=(--oversubscribe)
# Running as root (containers, CI) needs Open MPI's explicit consent.
if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
extra=()
[[ -n $threads ]] && extra=(--threads "$threads")
# gradmix train derives BLAS threads per rank itself from the ranks sharing a node; OpenBLAS must
# not start its own pool of one thread per core in every rank before that.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# Each rank picks its OpenBLAS kernels itself (it re-executes with OPENBLAS_CORETYPE when OpenBLAS
# chose generic ones; README "OpenBLAS kernels"); a kernel choice the user made travels to every node.
kernel=()
for v in OPENBLAS_CORETYPE GRADMIX_BLAS_CORETYPE; do [[ -n ${!v:-} ]] && kernel+=(-x "$v"); done
cmd=(mpirun "${args[@]}" -x OPENBLAS_NUM_THREADS "${kernel[@]}" "$bin" "$@")
if [[ ${1:-} == train ]]; then cmd+=("${extra[@]}"); fi
if ((dry)); then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
# SIGTERM/SIGINT to this script: passed on to mpirun, which passes SIGTERM on to every rank; each rank
# finishes its step, the job writes a checkpoint and the ranks exit 75. mpirun itself then exits 1 (Open
# MPI 4 handles SIGTERM/SIGINT itself and cannot forward them as-is: ess_base_forward_signals refuses
# them), so after a signal a non-zero status other than 2, 3 or 4 is reported as the documented 75
# (interrupted; --resume continues from the newest checkpoint). Choice: the mapping lives here, in the
# documented launch path; a bare `mpirun` still exits 1 after a signal (issue #28).
signalled=""
forward() { signalled=$1; [[ -n ${pid:-} ]] && kill "-$1" "$pid" 2>/dev/null || true; }
trap 'forward TERM' TERM
trap 'forward INT' INT
"${cmd[@]}" &
pid=$!
set +e
status=""
while [[ -z $status ]]; do
  wait "$pid"; rc=$?
  # wait returns early (status > 128) when a trapped signal arrives; wait again until mpirun has ended.
  kill -0 "$pid" 2>/dev/null || status=$rc
done
set -e
if [[ -n $signalled ]] && ((status != 0 && status != 2 && status != 3 && status != 4)); then
  echo "launch: stopped by SIG$signalled (mpirun exited $status); exit 75: continue with gradmix train --resume" >&2
  exit 75
fi
exit "$status"
