#!/usr/bin/env bash
# The engine against PyTorch CPU, one command that regenerates results/engine.md (issue 30).
#
# 1. Training throughput, interleaved so every tool sees the same machine load: in each round, for the
#    ResNet (conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 on 3x32x32; 5 runs of 4 steps after 2
#    warm-up steps) and the digit CNN (default spec; 5 runs of 7 steps after 5), at 1 and 2 threads,
#    batch 64, every engine binary and then scripts/bench_torch.py run one after another. Medians over
#    rounds of each cell and of the per-round ratios to PyTorch.
# 2. The sgemm-only bound of a digit-CNN step on one thread (`gradmix bench engine --sgemm-bound`: the
#    step's sgemm calls with the same shapes, alone; a product the row GEMM computes counts as the
#    im2col path's call for it) and the engine's share of it: one measurement per round, medians.
# 3. The 2-rank critical path: experiments/many-sources with its first source, target not a source,
#    `--method gated-pcgrad-no-pl --threads 1`, on 2 ranks (rank 1 the source while rank 0 computes g_T)
#    against one process; median over runs of each run's median step.
# Everything runs as a user runs it: OPENBLAS_CORETYPE and the binary's own markers are removed from
# the environment (the binary picks its kernels itself). Prints the CPU model, each side's kernels and
# the load average, and writes results/engine.md.
#
# Usage: scripts/bench-engine-vs-torch.sh [--rounds 3] [--python PY] [--out results/engine.md]
#                                         [--no-scaling] [NAME=BINARY...]
#   e.g. scripts/bench-engine-vs-torch.sh before=/tmp/gradmix-old engine=.build/release/gradmix (the last is measured in 2. and 3.)
# Default tools: engine=.build/release/gradmix (brought up to date with `swift build -c release` first). PyTorch:
# --python, else $PYTHON, else .venv-torch/bin/python, which is created with scripts/install-torch.sh
# (a local CPU wheel; never a dependency of GradMix; plus NumPy) when missing. About 5-8 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rounds=3 py=${PYTHON:-} out=results/engine.md scaling=1
tools=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --python) py=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-scaling) scaling=0; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *=*) tools+=("$1"); shift ;;
    *) echo "bench-engine-vs-torch: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
unset OPENBLAS_CORETYPE GRADMIX_BLAS_AUTO GRADMIX_BLAS_CORETYPE GRADMIX_BLAS_CHECK_FAULT
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
if ((${#tools[@]} == 0)); then
  swift build -c release --product gradmix >&2  # up to date with the working tree (quick when it is)
  tools=("engine=.build/release/gradmix")
fi
bin=${tools[-1]#*=}  # the last tool (the newest build) also runs the sgemm bound and the 2-rank path
if [[ -z $py ]]; then
  py=.venv-torch/bin/python
  if ! "$py" -c 'import torch' 2>/dev/null; then
    [[ -x $py ]] || python3 -m venv .venv-torch
    PYTHON=$py scripts/install-torch.sh
  fi
  # scripts/reference/spec_model.py builds the PyTorch side of a spec with NumPy's help.
  "$py" -c 'import numpy' 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check numpy
fi
"$py" -c 'import torch' || { echo "bench-engine-vs-torch: no torch in $py (scripts/install-torch.sh)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/throughput.log
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo)
isa=SSE; [[ $flags == *" avx2 "* ]] && isa=AVX2; [[ $flags == *" avx512f "* ]] && isa=AVX-512
engine_core=$("$bin" info --no-mpi | sed -n 's/^core: *//p')
torch_info=$("$py" -c 'import torch; print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, oneDNN {torch.backends.mkldnn.is_available()}, MKL {torch.backends.mkl.is_available()}")')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "CPU:    $cpu, $(nproc) cores ($isa)"
echo "engine: OpenBLAS core $engine_core"
echo "torch:  $torch_info"
echo "load:   $load_start (1, 5, 15 min) at start"

# 1. Throughput, interleaved.
resnet=(--spec conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 --input 3,32,32 --repeats 5 --steps 4 --warmup 2)
digit=(--repeats 5 --steps 7 --warmup 5)
one() {  # round network threads name command...
  local r=$1 net=$2 th=$3 name=$4; shift 4
  local load line
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$("$@" --batches 64 --threads "$th" --modes train 2>&1 | grep -E '^ *train' | tail -1) || true
  [[ -n $line ]] || { echo "bench-engine-vs-torch: $name gave no result for $net at $th thread(s)" >&2; return 0; }
  echo "$r $net t$th $name load=$load $(echo "$line" | awk '{print $4, $5, $6}')" | tee -a "$log"
}
for r in $(seq 1 "$rounds"); do
  for net in resnet digit; do
    if [[ $net == resnet ]]; then extra=("${resnet[@]}"); else extra=("${digit[@]}"); fi
    for th in 1 2; do
      for t in "${tools[@]}"; do one "$r" "$net" "$th" "${t%%=*}" "${t#*=}" bench engine "${extra[@]}"; done
      one "$r" "$net" "$th" torch "$py" scripts/bench_torch.py --quiet "${extra[@]}"
    done
  done
done

# 2. The sgemm-only bound of a digit-CNN step, one thread, once per round.
for r in $(seq 1 "$rounds"); do
  "$bin" bench engine --batches 64 --threads 1 --modes train --repeats 7 --steps 10 --warmup 5 --sgemm-bound \
    | grep -E 'sgemm' | tee -a "$work/bound.txt"
done

# 3. The 2-rank critical path against one process (as scripts/bench-scaling.sh runs its weak study).
if ((scaling)); then
  data_root=${GRADMIX_DATA:-data/raw}
  awk '
    /^sources:/ { insrc = 1; n = 0; print; next }
    insrc && /^  - / { if (n++ < 1) print; next }
    insrc && !/^  - / { insrc = 0 }
    /^target:/ { print; print "  as_source: false"; next }
    /^steps:/ { print "steps: 40"; next }
    /^eval_every:/ { print "eval_every: 40"; next }
    /^pseudo_labels:/ { next }
    { print }' experiments/many-sources/config.yaml > "$work/k1.yaml"
  if ((EUID == 0)); then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  # The method by its name in $bin (a binary from before the names of 2026-12-05 calls it gradmix-no-pl).
  method=gated-pcgrad-no-pl
  "$bin" info --methods | grep -qx "$method" || method=gradmix-no-pl
  for rep in 1 2 3; do
    for n in 1 2; do
      o=$work/run-$n-$rep
      args=(train --config "$work/k1.yaml" --data-root "$data_root" --method "$method" --threads 1 --quiet
            --check-every 0 --out "$o")
      if ((n == 1)); then "$bin" "${args[@]}"; else mpirun -np 2 --oversubscribe "$bin" "${args[@]}"; fi
      echo "$n $("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_seconds"]["step"])' "$o/summary.json")" \
        | tee -a "$work/critical.txt"
    done
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load:   $load_end (1, 5, 15 min) at end"

mkdir -p "$(dirname "$out")"
python3 - "$log" "$work/bound.txt" "$work/critical.txt" "$out" <<PY
import collections, statistics as st, sys, os
log, bound_path, critical_path, out = sys.argv[1:5]
cells, rounds, loads = collections.defaultdict(list), collections.defaultdict(dict), []
for line in open(log):
    parts = line.split()
    if len(parts) < 6 or parts[5] in ("", "nan"):
        continue
    r, net, th, tool, load, med = parts[:6]
    cells[(net, th, tool)].append(float(med)); rounds[(net, th, r)][tool] = float(med); loads.append(float(load[5:]))
goals = {("digit", "t1"): 1.3, ("digit", "t2"): 1.3, ("resnet", "t1"): 1.1, ("resnet", "t2"): 1.0}
names = {"digit": "digit CNN (default spec, 3x28x28)", "resnet": "ResNet conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10, 3x32x32"}
tools = [t for t in dict.fromkeys(k[2] for k in cells) if t != "torch"]
rows = ["| network | threads | " + " | ".join(f"{t} img/s" for t in tools) + " | PyTorch img/s | " +
        " | ".join(f"{t} / PyTorch (per-round median, range)" for t in tools) + " | goal |",
        "|---|---|" + "---|" * (2 * len(tools) + 2)]
text = []
for net in ("digit", "resnet"):
    for th in ("t1", "t2"):
        torch = cells.get((net, th, "torch"), [])
        line = f"| {names[net]} | {th[1:]} | "
        line += " | ".join(f"{st.median(cells[(net, th, t)]):.0f}" if cells.get((net, th, t)) else "-" for t in tools)
        line += f" | {st.median(torch):.0f} | " if torch else " | - | "
        ratios = []
        for t in tools:
            rs = [d[t] / d["torch"] for (n, h, _), d in rounds.items() if (n, h) == (net, th) and t in d and "torch" in d]
            ratios.append(f"**{st.median(rs):.2f}×** ({min(rs):.2f}-{max(rs):.2f}, {len(rs)} rounds)" if rs else "-")
        line += " | ".join(ratios) + f" | ≥ {goals[(net, th)]:.1f}× |"
        rows.append(line)
import re
bound_lines = [l.strip() for l in open(bound_path) if "sgemm-only bound" in l]
def field(pattern):
    return [float(re.search(pattern, l).group(1)) for l in bound_lines]
bound = "\n".join(bound_lines)
bound_summary = (
    f"Median of {len(bound_lines)} runs: bound {st.median(field(r'bound: ([0-9.]+) ms')):.2f} ms/step, engine "
    f"{st.median(field(r'engine ([0-9.]+) ms')):.2f} ms/step, **{st.median(field(r'([0-9.]+)% of the bound')):.1f}%** "
    f"of the bound's speed (range {min(field(r'([0-9.]+)% of the bound')):.1f}-{max(field(r'([0-9.]+)% of the bound')):.1f}%; goal >= 80%)."
) if bound_lines else "No bound was measured."

crit = collections.defaultdict(list)
if os.path.exists(critical_path):
    for line in open(critical_path):
        n, s = line.split(); crit[int(n)].append(float(s))
md = [
    "# The engine against PyTorch CPU",
    "",
    "Produced by \`scripts/bench-engine-vs-torch.sh\` (one command; it regenerates this file). Training steps at batch 64",
    "(forward, softmax cross-entropy, backward, SGD with momentum), as a user runs them: no OpenBLAS variable set (the",
    "binary picks its kernels at start-up). Rounds interleave every tool, so each sees the same machine load;",
    "each cell is the median over rounds of each run's median images/s, each ratio the median of the per-round ratios.",
    "",
    f"- CPU: $cpu, $(nproc) cores ($isa); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo ' (dirty)')",
    f"- engine kernels: OpenBLAS core $engine_core",
    f"- PyTorch: $torch_info",
    f"- load average (1, 5, 15 min): $load_start at start, $load_end at end; 1-minute load at the run starts: median {st.median(loads):.2f} ({min(loads):.2f}-{max(loads):.2f})" if loads else "- load: none recorded",
    f"- $rounds rounds; tools: " + ", ".join(tools),
    "",
    *([f"**The machine was busy** (median 1-minute load {st.median(loads):.1f} on $(nproc) cores): other processes took",
       "cores from both sides, PyTorch's OpenMP threads suffer most from that, and the 2-rank runs time-slice;",
       "these figures measure contention. Rerun on a quiet machine.", ""]
      if loads and st.median(loads) > $(nproc) else []),  # the benchmark alone loads up to its 2 threads
    "## Throughput",
    "",
    *rows,
    "",
    "## The sgemm-only bound of a digit-CNN step (one thread)",
    "",
    "The step's sgemm calls, recorded from one engine step and replayed alone with the same shapes, back to back,",
    "on warm operands (\`gradmix bench engine --sgemm-bound\`); the engine's share is the bound's time over the step's.",
    "A product the engine's own row GEMM computes (AVX-512) is recorded as the sgemm call the im2col path makes for it,",
    "so the bound is the time OpenBLAS alone needs for the step's products; one run per round.",
    "",
    bound_summary,
    "",
    "\`\`\`",
    bound,
    "\`\`\`",
    "",
]
if crit:
    one, two = st.median(crit[1]), st.median(crit[2])
    md += [
        "## The 2-rank critical path",
        "",
        "experiments/many-sources with its first source, the target not a source, \`--method gated-pcgrad-no-pl --threads 1\`,",
        "40 steps: one process (target gradient and the source in turn) against 2 ranks (rank 1 the source while rank 0",
        "computes g_T); median over 3 runs of each run's median step (summary.json).",
        "",
        "| layout | median step ms | runs |",
        "|---|---|---|",
        f"| 1 process | {one * 1000:.1f} | {len(crit[1])} |",
        f"| 2 ranks | {two * 1000:.1f} | {len(crit[2])} |",
        "",
        f"Critical path: **{two / one:.2f}×** one process (goal ≤ 0.65×).",
        "",
    ]
md += ["Thread counts above 2 were not measured here (2 cores; no larger machine was lent)."]
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(rows))
if crit: print(f"critical path: {two / one:.2f}x one process")
print(f"wrote {out}")
PY
