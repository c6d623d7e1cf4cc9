#!/usr/bin/env bash
# Copies a data root to local disk on every node of the current Slurm allocation and prints the
# local path (the same on every node), for `--data-root`. Reading the data from node-local disk keeps
# every rank of a large job from reading the shared filesystem at once.
#
# Usage: cluster/stage-data.sh SRC [DEST]
#   SRC    the data root (e.g. data/raw on a shared filesystem)
#   DEST   the node-local folder (default: $TMPDIR or /tmp, /gradmix-data-$SLURM_JOB_ID)
# How: SRC is packed into one tar file, sbcast copies it to every node (one broadcast, no shared
# filesystem read per node), and one task per node unpacks it. Without sbcast the tar file is copied by
# each node itself (srun cp), which needs it on a shared filesystem. Messages go to stderr.
set -euo pipefail
src=${1:?usage: cluster/stage-data.sh SRC [DEST]}
dest=${2:-${TMPDIR:-/tmp}/gradmix-data-${SLURM_JOB_ID:-$$}}
[[ -d $src ]] || { echo "stage-data: $src is not a folder" >&2; exit 2; }
nodes=${SLURM_JOB_NUM_NODES:-1}
pack=$(mktemp -d "${SLURM_SUBMIT_DIR:-$PWD}/.gradmix-stage.XXXXXX")
trap 'rm -rf "$pack"' EXIT
tar -C "$src" -chf "$pack/data.tar" .
if command -v sbcast >/dev/null 2>&1; then
  sbcast --force "$pack/data.tar" "$dest.tar"
else
  srun --nodes="$nodes" --ntasks-per-node=1 cp "$pack/data.tar" "$dest.tar"
fi
srun --nodes="$nodes" --ntasks-per-node=1 bash -c "mkdir -p '$dest' && tar -C '$dest' -xf '$dest.tar' && rm -f '$dest.tar'"
echo "stage-data: $src -> $dest on $nodes node(s) ($(du -sh "$pack/data.tar" | cut -f1))" >&2
echo "$dest"
