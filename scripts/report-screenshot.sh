#!/usr/bin/env bash
# Renders a `gradmix report` page with headless Chromium to a PNG (the README's report picture), to
# check that the self-contained page displays in a real browser.
#
# Usage: scripts/report-screenshot.sh [--report DIR] [--png FILE] [--width W] [--height H]
#   --report DIR   a report folder holding index.html (default: make one: a short uniform and gated-pcgrad
#                  run on a synthetic data root, then `gradmix report`)
#   --png FILE     output image (default docs/images/report.png)
# Installs Chromium with apt-get if it is missing (Debian/Ubuntu, as root); not run in CI.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
report="" png=docs/images/report.png width=1400 height=2200
while (($#)); do
  case $1 in
    --report) report=$2; shift 2 ;;
    --png) png=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --height) height=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "report-screenshot: unknown option '$1'" >&2; exit 2 ;;
  esac
done
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi
if [[ -z $report ]]; then
  bin=${GRADMIX_BIN:-.build/release/gradmix}
  [[ -x $bin ]] || { echo "report-screenshot: $bin is missing: swift build -c release first" >&2; exit 1; }
  work=$(mktemp -d)
  "$bin" data synthesize "$work/data" --per-class-train 60 --per-class-test 60 >/dev/null
  "$bin" sweep --config experiments/digits/config.yaml --methods uniform,gated-pcgrad --seeds 1 --steps 150 \
    --data-root "$work/data" --jobs 2 --out "$work/runs" target.unlabelled=250 target.test=250 \
    'sources[0].limit=400' >/dev/null
  "$bin" report "$work/runs" --out "$work/report" >/dev/null
  report=$work/report
fi
[[ -f $report/index.html ]] || { echo "report-screenshot: $report/index.html not found" >&2; exit 2; }
mkdir -p "$(dirname "$png")"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$(realpath -m "$png")" "file://$(realpath "$report/index.html")" 2>/dev/null
echo "report-screenshot: wrote $png from $report/index.html"
