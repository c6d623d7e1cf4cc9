#!/usr/bin/env bash
# Side-by-side training throughput of the engine and PyTorch, interleaved so that every tool sees the
# same machine load: in each round, for the ResNet (conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 on
# 3x32x32; 5 runs of 4 steps after 2 warm-up steps) and the digit CNN (default 7 x 20 after 5), with 1
# and 2 threads at batch 64, every engine binary and then scripts/bench_torch.py run one after another.
# Prints one line per run (round, network, threads, tool, 1-minute load, images/s median min max) and
# at the end the median over rounds of each cell and of the per-round ratios to PyTorch.
#
# Usage: scripts/bench-engine-vs-torch.sh [--rounds 5] [--python PY] NAME=BINARY...
#   e.g. scripts/bench-engine-vs-torch.sh before=/tmp/gradmix-old now=.build/release/gradmix
# Default tools: now=.build/release/gradmix. Needs torch (scripts/install-torch.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rounds=5 py=${PYTHON:-python3}
tools=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --python) py=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *=*) tools+=("$1"); shift ;;
    *) echo "bench-engine-vs-torch: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
((${#tools[@]})) || tools=("now=.build/release/gradmix")
resnet=(--spec conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 --input 3,32,32 --repeats 5 --steps 4 --warmup 2)
log=$(mktemp)
one() {  # round network threads name command...
  local r=$1 net=$2 th=$3 name=$4; shift 4
  local load line
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$("$@" --batches 64 --threads "$th" --modes train 2>&1 | grep -E '^ *train' | tail -1)
  echo "$r $net t$th $name load=$load $(echo "$line" | awk '{print $4, $5, $6}')" | tee -a "$log"
}
for r in $(seq 1 "$rounds"); do
  for net in resnet digit; do
    extra=(); [[ $net == resnet ]] && extra=("${resnet[@]}")
    for th in 1 2; do
      for t in "${tools[@]}"; do one "$r" "$net" "$th" "${t%%=*}" "${t#*=}" bench engine "${extra[@]}"; done
      one "$r" "$net" "$th" torch "$py" scripts/bench_torch.py "${extra[@]}"
    done
  done
done
python3 - "$log" <<'PY'
import collections, statistics as st, sys
cells, rounds, loads = collections.defaultdict(list), collections.defaultdict(dict), []
for line in open(sys.argv[1]):
    r, net, th, tool, load, med = line.split()[:6]
    cells[(net, th, tool)].append(float(med)); rounds[(net, th, r)][tool] = float(med); loads.append(float(load[5:]))
for (net, th, tool), v in sorted(cells.items()):
    print(f"{net} {th} {tool}: median {st.median(v):.1f} ({min(v):.1f}-{max(v):.1f}) images/s")
    rs = [d[tool] / d["torch"] for (n, t, _), d in rounds.items() if (n, t) == (net, th) and tool != "torch" and tool in d and "torch" in d]
    if rs: print(f"  {tool} / torch: median {st.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f}) over {len(rs)} rounds")
print(f"1-minute load at run starts: median {st.median(loads):.2f} ({min(loads):.2f}-{max(loads):.2f})")
PY
rm -f "$log"
