#!/usr/bin/env bash
# Set up what the tests need (system packages; no data: tests use small fixtures) and run every test.
#
# Usage: scripts/test.sh [extra swift test arguments]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh --no-data --no-build
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

# Each rank and each test process uses one BLAS thread unless a test says otherwise.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# The NumPy reference of scripts/reference/load_checkpoint.py is tested against the engine (skipped without NumPy).
export GRADMIX_PYTHON=${GRADMIX_PYTHON:-$(scripts/setup-python.sh)}
# The docs' relative links and anchors resolve (a moved file or renamed heading fails here).
python3 scripts/check-links.py
# The test runner (xctest) is not gradmix and does not re-execute itself: give it the OpenBLAS kernels
# gradmix chooses at start-up (none where OpenBLAS's own choice fits the CPU or the user set one).
swift build --product gradmix
eval "$("$(swift build --show-bin-path)"/gradmix info --no-mpi --blas-environment | sed 's/^/export /')"
swift test "$@"
