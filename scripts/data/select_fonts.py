"""Choose the fonts that syndigits renders from: every usable .ttf/.otf of some Debian packages.

For each installed package it lists the font files (`dpkg -L`), then keeps a face only if it
draws the ten digits. Rendered at 64 px with Pillow, each of '0'-'9' must have ink, differ from
the face's missing-glyph drawing (what U+10FFFD renders as) and differ from the other nine.
A face whose ten digits render exactly like an earlier face's (e.g. a metric-compatible clone)
is left out as a duplicate. URW's symbol faces are skipped by name: D050000L (Dingbats) draws
ornaments at 0x30-0x39, and Standard Symbols PS is a symbol font whose digits only copy Times.

Writes `FONTS.tsv` (file, family, style, package, licence) and `FONTS-excluded.tsv`
(file, package, reason). Licences are those of the package's font files as given in
/usr/share/doc/<package>/copyright.

Example:
    python select_fonts.py --packages fonts-dejavu-core fonts-lato --out-dir data/raw/syndigits
"""

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LICENCES = {
    "fonts-dejavu-core": "Bitstream Vera Fonts licence (DejaVu changes public domain)",
    "fonts-dejavu-extra": "Bitstream Vera Fonts licence (DejaVu changes public domain)",
    "fonts-liberation2": "OFL-1.1",
    "fonts-freefont-ttf": "GPL-3+ with font exception",
    "fonts-urw-base35": "AGPL-3 with font exception",
    "fonts-croscore": "OFL-1.1",
    "fonts-texgyre": "GUST Font License",
    "fonts-lato": "OFL-1.1",
    "fonts-roboto-unhinted": "Apache-2.0",
    "fonts-open-sans": "Apache-2.0",
    "fonts-dkg-handwriting": "GPL-3+",
    "fonts-humor-sans": "OFL-1.1",
}
SKIP_NAMES = ("D050000L", "StandardSymbolsPS")
DIGITS = "0123456789"
MISSING = "\U0010fffd"  # a private-use code point no font here maps
CHECK_SIZE = 64
MIN_INK_PIXELS = 20


def package_fonts(package):
    """Return the sorted .ttf/.otf paths that an installed Debian package ships."""
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if result.returncode != 0:
        return []
    return sorted(p for p in result.stdout.splitlines() if p.endswith((".ttf", ".otf")))


def render(font, char):
    """Render one character in white on a black square; return the 'L' image."""
    image = Image.new("L", (2 * CHECK_SIZE, 2 * CHECK_SIZE))
    ImageDraw.Draw(image).text((CHECK_SIZE // 2, CHECK_SIZE // 4), char, fill=255, font=font)
    return image


def check(path):
    """Return (font, None, digit_key) if the face draws 0-9 properly, else (None, reason, None)."""
    try:
        font = ImageFont.truetype(path, CHECK_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except OSError as error:
        return None, f"cannot load: {error}", None
    missing = render(font, MISSING).tobytes()
    glyphs = [render(font, d).tobytes() for d in DIGITS]
    for digit, glyph in zip(DIGITS, glyphs):
        if sum(b > 127 for b in glyph) < MIN_INK_PIXELS:
            return None, f"digit {digit} has no ink", None
        if glyph == missing:
            return None, f"digit {digit} is the missing-glyph box", None
    if len(set(glyphs)) < len(DIGITS):
        return None, "some digits render identically", None
    return font, None, hashlib.sha256(b"".join(glyphs)).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", nargs="+", required=True, help="Debian font packages")
    parser.add_argument("--out-dir", required=True, type=Path, help="folder for the TSV files")
    args = parser.parse_args()

    kept, excluded, seen_files, seen_digits = [], [], set(), {}
    for package in args.packages:
        paths = package_fonts(package)
        if not paths:
            print(f"select_fonts: WARNING: {package} is not installed or has no fonts", file=sys.stderr)
        for path in paths:
            real = str(Path(path).resolve())
            if real in seen_files:
                continue
            seen_files.add(real)
            if any(name in Path(path).name for name in SKIP_NAMES):
                excluded.append((path, package, "URW symbol font (skipped by name)"))
                continue
            font, reason, key = check(path)
            if font is not None and key in seen_digits:
                font, reason = None, f"digits identical to {seen_digits[key]}"
            if font is None:
                excluded.append((path, package, reason))
                continue
            seen_digits[key] = Path(path).name
            family, style = font.getname()
            licence = LICENCES.get(package, f"see /usr/share/doc/{package}/copyright")
            kept.append((path, family, style, package, licence))

    if not kept:
        sys.exit("select_fonts: no usable font found")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with open(args.out_dir / "FONTS.tsv", "w") as f:
        f.write("file\tfamily\tstyle\tpackage\tlicence\n")
        f.writelines("\t".join(row) + "\n" for row in kept)
    with open(args.out_dir / "FONTS-excluded.tsv", "w") as f:
        f.write("file\tpackage\treason\n")
        f.writelines("\t".join(row) + "\n" for row in excluded)
    print(f"select_fonts: {len(kept)} faces kept, {len(excluded)} left out", file=sys.stderr)


if __name__ == "__main__":
    main()
