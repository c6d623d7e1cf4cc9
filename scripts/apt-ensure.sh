#!/usr/bin/env bash
# Install the Debian packages given as arguments that are not installed yet.
#
# Quiet (no apt call at all) when every package is already installed. Otherwise runs
# `apt-get update` once, skips with a warning any package the archive does not have, and
# installs the rest with --no-install-recommends. Uses `sudo -n` when not root.
#
# Usage: scripts/apt-ensure.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

as_root=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "apt-ensure: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes

echo "apt-ensure: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq >/dev/null
available=()
for pkg in "${missing[@]}"; do
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [[ -z $candidate || $candidate == "(none)" ]]; then
    echo "apt-ensure: WARNING: $pkg is not in the apt archive; skipped" >&2
  else
    available+=("$pkg")
  fi
done
((${#available[@]})) || exit 0
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
