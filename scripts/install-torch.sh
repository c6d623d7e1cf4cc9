#!/usr/bin/env bash
# Install the pinned CPU-only PyTorch used by scripts/bench_torch.py (and by
# `scripts/reference/make_golden.py --check-torch`) into the current python.
#
# PyTorch is ONLY for the speed comparison / optional cross-check: it is never
# a dependency of GradMix, its tests or its CI.
#
# Pinned: torch==2.13.0+cpu (a CPU-only build: USE_CUDA=0, MKL + oneDNN, no
# nvidia-* dependencies). On the project machines this wheel comes from the
# local wheel directory /opt/wheels (pip's find-links). Elsewhere, point pip at
# a source of PyTorch's "+cpu" wheels, e.g.
#     TORCH_PIP_ARGS="--index-url <PyTorch CPU wheel index> --extra-index-url <PyPI>" scripts/install-torch.sh
#
# Usage:
#     scripts/install-torch.sh               # idempotent; silent if already installed
#     PYTHON=/path/to/python scripts/install-torch.sh
#     scripts/install-torch.sh --allow-cuda-wheel
#         if no "+cpu" wheel can be found, install the plain PyPI torch==2.13.0
#         instead (it pulls multi-GB nvidia-* packages but also runs on CPU).
set -euo pipefail

TORCH_VERSION="2.13.0"
TORCH_CPU_SPEC="torch==${TORCH_VERSION}+cpu"
PYTHON="${PYTHON:-python3}"
WHEEL_DIR="${TORCH_WHEEL_DIR:-/opt/wheels}"
ALLOW_CUDA=0

for arg in "$@"; do
    case "$arg" in
        --allow-cuda-wheel) ALLOW_CUDA=1 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-torch.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

installed_version() {
    "$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null || true
}

current="$(installed_version)"
if [ "$current" = "${TORCH_VERSION}+cpu" ]; then
    exit 0   # already installed: stay quiet
fi
if [ -n "$current" ]; then
    echo "install-torch.sh: replacing torch $current with ${TORCH_CPU_SPEC}" >&2
fi

pip_args=(-q --disable-pip-version-check)
if [ -d "$WHEEL_DIR" ]; then
    pip_args+=(--find-links "$WHEEL_DIR")
fi
# shellcheck disable=SC2206
extra=(${TORCH_PIP_ARGS:-})

if "$PYTHON" -m pip install "${pip_args[@]}" "${extra[@]}" "$TORCH_CPU_SPEC"; then
    :
elif [ "$ALLOW_CUDA" = 1 ]; then
    echo "install-torch.sh: ${TORCH_CPU_SPEC} not available; installing torch==${TORCH_VERSION} (CUDA build, runs on CPU)" >&2
    "$PYTHON" -m pip install "${pip_args[@]}" "${extra[@]}" "torch==${TORCH_VERSION}"
else
    echo "install-torch.sh: could not install ${TORCH_CPU_SPEC}." >&2
    echo "  Provide a source of PyTorch '+cpu' wheels via TORCH_PIP_ARGS or TORCH_WHEEL_DIR," >&2
    echo "  or rerun with --allow-cuda-wheel to accept the (large) default PyPI build." >&2
    exit 1
fi

"$PYTHON" - <<'EOF'
import warnings; warnings.filterwarnings("ignore")
import torch
print(f"installed torch {torch.__version__} (cuda build: {torch.version.cuda}, "
      f"mkldnn: {torch.backends.mkldnn.is_available()})")
EOF
