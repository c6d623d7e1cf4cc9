#!/usr/bin/env bash
# The refactor check: every method's 20-step params_l2 on experiments/digits, at 1 process and at
# 3 ranks (mpirun -np 3). A change that claims to keep results must keep every number bit for bit.
#
# Usage: scripts/check-params.sh [OUT.tsv]   (default results/refactor-check.tsv)
# Env:   GRADMIX_BIN (default .build/release/gradmix), METHODS (default: every --method value the
#        binary accepts), NPS (default "1 3"), RUNS (run folders, default runs/check-params),
#        BEFORE (a table this script wrote earlier: compare with it).
# Writes one line per run: method, processes, params_l2 as summary.json holds it (full precision).
# With BEFORE, also prints a markdown table of both (a method in only one of them is listed as
# such) and exits 1 if any method in both differs in any bit. A BEFORE table with a `gradmix-paper` row
# used the names before 2026-12-05: its rows are compared under today's names (gradmix -> gated-pcgrad,
# gradmix-paper -> gradmix, gradmix-no-pl -> gated-pcgrad-no-pl).
# Needs the data (data/raw) and, for NPS > 1, mpirun.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-results/refactor-check.tsv}
bin=${GRADMIX_BIN:-.build/release/gradmix}
[[ -x $bin ]] || { echo "error: $bin: missing; run swift build -c release first" >&2; exit 1; }
runs=${RUNS:-runs/check-params}
nps=${NPS:-"1 3"}
# The method list comes from the binary: `info --methods` (the one list scripts read), else (an older
# binary) the "(values: ...)" of --method in `train --help`.
methods=${METHODS:-$("$bin" info --methods 2>/dev/null | tr '\n' ' ' || true)}
[[ -n $methods ]] || methods=$("$bin" train --help | tr '\n' ' ' | sed -n 's/.*--method <method>[^(]*(values: \([^)]*\)).*/\1/p' | tr -d ',' | tr -s ' ')
[[ -n $methods ]] || { echo "error: check-params: could not read the method list from $bin train --help" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$(dirname "$out")" "$runs"
printf 'method\tprocesses\tparams_l2\n' >"$out"
for np in $nps; do
  for m in $methods; do
    dir=$runs/$m-np$np
    rm -rf "$dir"
    args=(train --config experiments/digits/config.yaml --method "$m" --steps 20 --threads 1 --out "$dir")
    if ((np == 1)); then
      "$bin" "${args[@]}" >"$dir.log" 2>&1
    else
      mpirun -np "$np" --oversubscribe "$bin" "${args[@]}" >"$dir.log" 2>&1
    fi
    l2=$(jq -r '.params_l2' "$dir/summary.json")
    printf '%s\t%s\t%s\n' "$m" "$np" "$l2" | tee -a "$out"
  done
done
if [[ -n ${BEFORE:-} ]]; then
  awk -F'\t' '
    NR == FNR { if (FNR > 1) { rows[FNR] = $0; if ($1 == "gradmix-paper") old = 1 }; next }
    FNR == 1 {
      renamed["gradmix"] = "gated-pcgrad"; renamed["gradmix-paper"] = "gradmix"; renamed["gradmix-no-pl"] = "gated-pcgrad-no-pl"
      for (r in rows) { split(rows[r], p, "\t"); m = (old && p[1] in renamed) ? renamed[p[1]] : p[1]; before[m "\t" p[2]] = p[3] }
    }
    FNR > 1 { after[$1 "\t" $2] = $3; order[++n] = $1 "\t" $2 }
    END {
      print "| method | processes | before | after | same |"
      print "|---|---|---|---|---|"
      bad = 0
      for (k in before) if (!(k in after)) { split(k, p, "\t"); printf "| %s | %s | %s | (removed) | |\n", p[1], p[2], before[k] }
      for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, "\t")
        if (k in before) { same = before[k] == after[k] ? "yes" : "**NO**"; if (same != "yes") bad = 1 }
        else same = "(new)"
        printf "| %s | %s | %s | %s | %s |\n", p[1], p[2], (k in before) ? before[k] : "", after[k], same
      }
      exit bad
    }' "$BEFORE" "$out"
fi
