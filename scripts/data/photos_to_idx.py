"""Convert scikit-image's freely licensed colour photos to IDX files.

Reads the photos straight from a scikit-image wheel (a zip archive), checks each photo's
SHA-256 against the table below, decodes it with Pillow and writes `<out>/<name>.idx3-ubyte`
holding one uint8 array of dims [H, W, 3] (magic 0x00000803), plus `<out>/MANIFEST.tsv`
(name, file, width, height, licence, sha256 of the IDX file).

Pixel values are taken as stored: no ICC colour management and no EXIF rotation, which is
what `skimage.data` returns too.

Left out: motorcycle_left/right (no licence stated) and ihc, whose docstring in
`skimage/data/_fetchers.py` says only "No known copyright restrictions" without naming a
licence or a public-domain dedication. The licences below are quoted from that file.

Example:
    python photos_to_idx.py --wheel scikit_image-0.26.0-....whl --out-dir data/raw/photos
"""

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

import idx

# name, file in skimage/data/, licence as stated in skimage/data/_fetchers.py, SHA-256 of the file
PHOTOS = [
    ("astronaut", "astronaut.png", "public domain (NASA)",
     "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    ("chelsea", "chelsea.png", "CC0 (photographer Stefan van der Walt)",
     "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
    ("coffee", "coffee.png", "CC0 (photographer Rachel Michetti)",
     "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
    ("rocket", "rocket.jpg", "public domain (SpaceX)",
     "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
    ("hubble_deep_field", "hubble_deep_field.jpg", "public domain (NASA)",
     "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4"),
    ("retina", "retina.jpg", "CC0 1.0 (Mikael Haggstrom, Wikimedia Commons)",
     "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6"),
]


def sha256(data):
    """Return the hex SHA-256 of a bytes object."""
    return hashlib.sha256(data).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", required=True, type=Path, help="scikit-image wheel (.whl)")
    parser.add_argument("--out-dir", required=True, type=Path, help="folder for the IDX files")
    args = parser.parse_args()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with zipfile.ZipFile(args.wheel) as wheel:
        for name, file, licence, expected in PHOTOS:
            data = wheel.read(f"skimage/data/{file}")
            if sha256(data) != expected:
                sys.exit(f"photos_to_idx: {file} in {args.wheel.name} has SHA-256 "
                         f"{sha256(data)}, expected {expected}")
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # [H, W, 3]
            out = args.out_dir / f"{name}.idx3-ubyte"
            idx.write(out, pixels)
            height, width, _ = pixels.shape
            rows.append((name, out.name, width, height, licence, sha256(out.read_bytes())))

    with open(args.out_dir / "MANIFEST.tsv", "w") as f:
        f.write("name\tfile\twidth\theight\tlicence\tsha256\n")
        for row in rows:
            f.write("\t".join(map(str, row)) + "\n")


if __name__ == "__main__":
    main()
