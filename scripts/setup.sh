#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for GradMix, idempotently and quietly when done.
#
# Usage: scripts/setup.sh [--no-data] [--no-build] [--debug]
#   1. installs the system packages (OpenBLAS, Open MPI, zlib, libpng, libjpeg-turbo, pkg-config, procps
#      for pkill) with apt;
#   2. fetches and verifies the data sets (scripts/fetch-data.sh; skipped with --no-data);
#   3. builds the release binary .build/release/gradmix (debug with --debug; none with --no-build).
# The Swift toolchain (6.x) must already be installed (it is not a Debian package); the script
# looks for it on PATH and in /opt/swift.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
data=1 build=release
for arg in "$@"; do
  case $arg in
    --no-data) data=0 ;;
    --no-build) build="" ;;
    --debug) build=debug ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

SYSTEM_PACKAGES=(libopenblas-dev libopenmpi-dev openmpi-bin zlib1g-dev libpng-dev libturbojpeg0-dev pkg-config procps)
scripts/apt-ensure.sh "${SYSTEM_PACKAGES[@]}"

if ! command -v swift >/dev/null; then
  if [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
  else
    echo "setup: no Swift toolchain found (need Swift 6.x on PATH or in /opt/swift; see swift.org/install)" >&2
    exit 1
  fi
fi
for pc in openblas ompi-c zlib libpng libturbojpeg; do
  pkg-config --exists "$pc" || { echo "setup: pkg-config cannot find '$pc' after installing ${SYSTEM_PACKAGES[*]}" >&2; exit 1; }
done

if ((data)); then
  scripts/fetch-data.sh
fi

if [[ -n $build ]]; then
  echo "setup: building ($build) ..."
  log=$(mktemp)
  # SwiftPM may skip the BuildInfo prebuild command when no source changed (e.g. after a commit),
  # which would leave the previous commit in the binary's provenance: remove its output first.
  find .build -path '*BuildInfoPlugin*' -name BuildInfo.swift -delete 2>/dev/null || true
  if ! swift build -c "$build" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "setup: the build failed" >&2; exit 1
  fi
  rm -f "$log"
  echo "setup: built .build/$build/gradmix"
fi
