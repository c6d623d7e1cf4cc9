#!/usr/bin/env bash
# Soak run: the digits benchmark with pseudo-labelling for many steps on 3 MPI ranks, sampling each
# rank's resident memory (VmRSS) and open file descriptors every few seconds. Writes results/soak.md.
#
# Usage: scripts/soak.sh [--steps N] [--ranks R] [--interval S]   (defaults: 3000 steps, 3 ranks, 5 s)
# Needs scripts/setup.sh first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
steps=3000 ranks=3 interval=5
while (($#)); do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "soak: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=${GRADMIX_BIN:-.build/release/gradmix}
out=runs/soak
rm -rf "$out"
mkdir -p results
samples=$(mktemp)
start=$(date +%s)
cluster/launch.sh --ranks "$ranks" --oversubscribe --bin "$bin" -- train --config experiments/digits/config.yaml --method gated-pcgrad \
  --steps "$steps" --out "$out" --quiet >"$out.log" 2>&1 &
launcher=$!
sleep 2
while kill -0 "$launcher" 2>/dev/null; do
  t=$(( $(date +%s) - start ))
  for pid in $(pgrep -f -- "--out $out" | sort -n); do
    [[ $(cat /proc/"$pid"/comm 2>/dev/null) == gradmix ]] || continue
    rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null || echo 0)
    fds=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l)
    echo "$t $pid $rss $fds" >>"$samples"
  done
  sleep "$interval"
done
status=0
wait "$launcher" || status=$?
elapsed=$(( $(date +%s) - start ))
python3 - "$samples" "$steps" "$ranks" "$elapsed" "$status" <<'PY'
import sys, collections
path, steps, ranks, elapsed, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
by = collections.defaultdict(list)
for line in open(path):
    t, pid, rss, fds = map(int, line.split())
    by[pid].append((t, rss, fds))
rows = ["| rank | samples | RSS (MiB) at 0%, 25%, 50%, 75%, 100% of the run | RSS max (MiB) | open fds first → last |",
        "|---|---|---|---|---|"]
for i, (pid, s) in enumerate(sorted(by.items())):
    s = s[min(2, len(s) - 1):]  # from the first sample after start-up and data loading
    quart = [s[min(len(s) - 1, round(q * (len(s) - 1)))][1] / 1024 for q in (0, 0.25, 0.5, 0.75, 1)]
    rows.append(f"| {i} | {len(s)} | " + ", ".join(f"{x:.0f}" for x in quart) + f" | {max(x[1] for x in s) / 1024:.0f} | {s[0][2]} → {s[-1][2]} |")
md = ["# Soak run", "", f"`scripts/soak.sh --steps {steps} --ranks {ranks}`: the digits benchmark with GradMix and pseudo-labelling,",
      f"{steps} steps on {ranks} MPI ranks, finished with exit status {status} in {elapsed} s. Memory and file descriptors",
      "of each rank, sampled every few seconds (first = after start-up and data loading):", ""] + rows + [""]
open("results/soak.md", "w").write("\n".join(md))
print("\n".join(md))
PY
mv "$samples" "$out/memory.tsv"  # seconds, pid, VmRSS kB, open fds
exit "$status"
