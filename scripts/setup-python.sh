#!/usr/bin/env bash
# Create (once) the project's Python environment for scripts/data/*.py and print its python.
#
# A venv under .venv/ (override: GRADMIX_VENV) built from the python on PATH (override:
# GRADMIX_BASE_PYTHON) with the pinned packages in scripts/data/requirements.txt. A venv also
# sidesteps PEP 668 ("externally managed environment") on Debian's system python. If the base
# python or its venv module (Debian package python3-venv) is missing, they are apt-installed.
#
# Idempotent: when the venv already holds the current requirements it only checks that they
# import. The python path is the only thing printed on stdout; messages go to stderr:
#     PY=$(scripts/setup-python.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${GRADMIX_VENV:-$root/.venv}
base=${GRADMIX_BASE_PYTHON:-python3}
requirements=$root/scripts/data/requirements.txt
py=$venv/bin/python
stamp=$venv/.gradmix-requirements.sha256

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -f $stamp && $(<"$stamp") == "$want" ]] && "$py" -c 'import PIL, numpy' 2>/dev/null; then
  echo "$py"
  exit 0
fi

if ! command -v "$base" >/dev/null || ! "$base" -c 'import ensurepip, venv' 2>/dev/null; then
  # Debian ships the venv module's ensurepip separately (python3-venv).
  "$root/scripts/apt-ensure.sh" python3 python3-venv
  base=$(command -v "$base" || echo /usr/bin/python3)
fi

echo "setup-python: creating $venv with $("$base" --version 2>&1) and $(grep -v '^#' "$requirements" | xargs)" >&2
"$base" -m venv --clear "$venv"
"$py" -m pip install -q --disable-pip-version-check -r "$requirements" >&2
"$py" -c 'import PIL, numpy' # fail here, not later, if the install is unusable
echo "$want" >"$stamp"
echo "$py"
