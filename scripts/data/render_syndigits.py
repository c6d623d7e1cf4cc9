"""Render syndigits: printed digits in many fonts, a synthetic stand-in for SVHN crops.

Each 28x28 RGB image shows one digit (the label) drawn with a face from FONTS.tsv (see
select_fonts.py). Per image, drawn at random:
- face: a family uniformly, then one of its faces (so Lato's 18 weights count as one family);
- colours: a background that is a linear gradient between two close colours, and a digit
  colour whose luma differs from both gradient ends by at least MIN_LUMA_GAP; both are then
  pulled part of the way towards grey (keeping their luma);
- scale (digit height 50-80 % of the image), rotation (+-15 degrees), position jitter,
  stroke width (0-4 px on the 80 px layer, i.e. up to ~1 px of extra weight at 28 px);
- with probability DISTRACTOR_P per side, a neighbouring digit of the same face and colour on
  the same baseline, usually cut by the image border (as in SVHN's crops of house numbers);
- Gaussian blur (radius 0-1 px) and Gaussian pixel noise (sigma 0-12 grey levels).
The text is drawn on a large layer, warped by one affine map (scale, rotation, shift) into a
112x112 mask, box-filtered down to 28x28 and used to blend the two colours.

Determinism: image i of a split uses its own generator, seeded with (seed, split, i), so the
output does not depend on --jobs. Labels are balanced (N/10 per class) and shuffled with the
generator (seed, split). Train and test share the font set but use disjoint seeds (split 0 and
1): like SVHN, whose test crops come from other images of the same kind, the test set is drawn
from the same distribution rather than from held-out fonts. The bytes depend on the Pillow
build (its bundled FreeType), which scripts/data/requirements.txt pins.

Writes IDX files (see idx.py): <split>-images-idx4-ubyte, dims [N, 28, 28, 3] (magic
0x00000804), and <split>-labels-idx1-ubyte, dims [N] (magic 0x00000801).

Example:
    python render_syndigits.py --fonts data/raw/syndigits/FONTS.tsv --out-dir data/raw/syndigits
"""

import argparse
import csv
import math
import multiprocessing
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import idx

SPLITS = {"train": 0, "test": 1}  # split name -> seed component
SIZE = 28  # output image side
OVERSAMPLE = 4  # the mask is drawn at SIZE * OVERSAMPLE and box-filtered down
REF_INK = 80  # digit ink height, in pixels, on the text layer
LAYER = (360, 160)  # text layer (width, height); the main digit is centred on it
HEIGHT_RANGE = (0.50, 0.80)  # digit ink height / image side
MAX_ROTATION = 15.0  # degrees
JITTER = (0.10, 0.06)  # max centre shift / image side, (x, y)
MAX_STROKE = 4  # on the text layer
DISTRACTOR_P = 0.3  # per side
DISTRACTOR_GAP = (0.03, 0.20)  # gap between ink boxes / REF_INK
MAX_GRADIENT = 40  # per channel difference between the two background colours
MIN_LUMA_GAP = 60  # grey levels
SATURATION_RANGE = (0.2, 1.0)  # colours are pulled towards grey (SVHN's are rather muted)
MAX_BLUR = 1.0  # Gaussian blur radius, output pixels
MAX_NOISE = 12.0  # noise sigma, grey levels
CHUNK = 500  # images per worker task

_families = None  # set in each worker: list of lists of font paths


def read_fonts(path):
    """Read FONTS.tsv; return the font paths grouped by family, in file order."""
    families = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            families.setdefault(row["family"], []).append(row["file"])
    return list(families.values())


@lru_cache(maxsize=None)
def load_face(path):
    """Return the face at the size whose digits are REF_INK pixels high (median over 0-9)."""
    probe = ImageFont.truetype(path, 100, layout_engine=ImageFont.Layout.BASIC)
    heights = sorted(probe.getbbox(d)[3] - probe.getbbox(d)[1] for d in "0123456789")
    size = max(8, round(100 * REF_INK / ((heights[4] + heights[5]) / 2)))
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def luma(rgb):
    """Rec. 601 luma of an RGB triple (0-255)."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def draw_text_layer(rng, font, digit):
    """Draw the digit (and maybe neighbours) in white on a black 'L' layer."""
    layer = Image.new("L", LAYER)
    draw = ImageDraw.Draw(layer)
    stroke = int(rng.integers(0, MAX_STROKE + 1))
    left, top, right, bottom = font.getbbox(str(digit), stroke_width=stroke)
    x = LAYER[0] / 2 - (left + right) / 2
    y = LAYER[1] / 2 - (top + bottom) / 2
    draw.text((x, y), str(digit), fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    for side in (-1, 1):
        if rng.random() >= DISTRACTOR_P:
            continue
        other = str(int(rng.integers(0, 10)))
        gap = REF_INK * rng.uniform(*DISTRACTOR_GAP)
        o_left, _, o_right, _ = font.getbbox(other, stroke_width=stroke)
        if side > 0:  # the neighbour's ink starts `gap` after the digit's ink ends
            ox = x + right + gap - o_left
        else:
            ox = x + left - gap - o_right
        draw.text((ox, y), other, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    return layer


def warp_to_mask(rng, layer):
    """Scale, rotate and shift the layer into a SIZE x SIZE mask in [0, 1]; [SIZE, SIZE]."""
    big = SIZE * OVERSAMPLE
    scale = rng.uniform(*HEIGHT_RANGE) * big / REF_INK
    angle = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    cx = big / 2 + rng.uniform(-1, 1) * JITTER[0] * big
    cy = big / 2 + rng.uniform(-1, 1) * JITTER[1] * big
    # Output pixel p maps to layer point  centre + R(angle) (p - c) / scale.
    a, b = math.cos(angle) / scale, -math.sin(angle) / scale
    d, e = math.sin(angle) / scale, math.cos(angle) / scale
    c = LAYER[0] / 2 - (a * cx + b * cy)
    f = LAYER[1] / 2 - (d * cx + e * cy)
    mask = layer.transform((big, big), Image.Transform.AFFINE, (a, b, c, d, e, f),
                           resample=Image.Resampling.BICUBIC)
    mask = mask.resize((SIZE, SIZE), Image.Resampling.BOX)
    return np.asarray(mask, dtype=np.float32) / 255.0


def desaturate(rgb, saturation):
    """Move an RGB colour towards the grey of the same luma (saturation 1 leaves it as is)."""
    return luma(rgb) + saturation * (rgb - luma(rgb))


def pick_colours(rng):
    """Return (background end colours c0, c1, digit colour) with enough luma contrast."""
    c0 = rng.integers(0, 256, 3)
    c1 = np.clip(c0 + rng.integers(-MAX_GRADIENT, MAX_GRADIENT + 1, 3), 0, 255)
    while True:
        ink = rng.integers(0, 256, 3)
        if min(abs(luma(ink) - luma(c0)), abs(luma(ink) - luma(c1))) >= MIN_LUMA_GAP:
            break
    # Desaturating keeps luma, so the contrast test above still holds.
    background = rng.uniform(*SATURATION_RANGE)
    ink = desaturate(ink, rng.uniform(*SATURATION_RANGE))
    return (desaturate(c0, background).astype(np.float32), desaturate(c1, background).astype(np.float32),
            ink.astype(np.float32))


def render_image(rng, digit):
    """Render one image of `digit`; returns uint8 [SIZE, SIZE, 3]."""
    family = _families[int(rng.integers(0, len(_families)))]
    font = load_face(family[int(rng.integers(0, len(family)))])
    mask = warp_to_mask(rng, draw_text_layer(rng, font, digit))[..., None]  # [H, W, 1]

    c0, c1, ink = pick_colours(rng)
    phi = rng.uniform(0, 2 * math.pi)
    coords = (np.arange(SIZE, dtype=np.float32) - (SIZE - 1) / 2) / SIZE
    t = 0.5 + coords[None, :] * math.cos(phi) + coords[:, None] * math.sin(phi)  # [H, W]
    background = c0 + t[..., None] * (c1 - c0)  # [H, W, 3]
    pixels = background * (1 - mask) + ink * mask

    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, MAX_BLUR)))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(0, MAX_NOISE), (SIZE, SIZE, 3))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def init_worker(fonts_tsv):
    """Pool initializer: load the font list once per process."""
    global _families
    _families = read_fonts(fonts_tsv)


def render_chunk(task):
    """Render images [start, stop) of a split; returns uint8 [stop - start, SIZE, SIZE, 3]."""
    seed, split, start, labels = task
    out = np.empty((len(labels), SIZE, SIZE, 3), np.uint8)
    for k, digit in enumerate(labels):
        out[k] = render_image(np.random.default_rng([seed, SPLITS[split], start + k]), int(digit))
    return out


def balanced_labels(seed, split, count):
    """Return `count` labels, count/10 of each class, in a seeded random order."""
    if count % 10:
        sys.exit(f"render_syndigits: --{split} must be a multiple of 10, got {count}")
    labels = np.repeat(np.arange(10, dtype=np.uint8), count // 10)
    np.random.default_rng([seed, SPLITS[split]]).shuffle(labels)
    return labels


def save_preview(path, images, labels, columns=20):
    """Save the first images as a PNG grid, 3x enlarged (for looking, not for training)."""
    rows = min(len(images), 10 * columns) // columns
    grid = images[: rows * columns].reshape(rows, columns, SIZE, SIZE, 3)
    grid = grid.transpose(0, 2, 1, 3, 4).reshape(rows * SIZE, columns * SIZE, 3)
    Image.fromarray(grid).resize((columns * SIZE * 3, rows * SIZE * 3), Image.Resampling.NEAREST).save(path)
    print(f"preview labels: {labels[: rows * columns].reshape(rows, columns).tolist()}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fonts", required=True, type=Path, help="FONTS.tsv from select_fonts.py")
    parser.add_argument("--out-dir", required=True, type=Path, help="folder for the IDX files")
    parser.add_argument("--train", type=int, default=25000, help="training images (multiple of 10)")
    parser.add_argument("--test", type=int, default=5000, help="test images (multiple of 10)")
    parser.add_argument("--seed", type=int, default=20240611, help="base seed of all random draws")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count(), help="worker processes")
    parser.add_argument("--preview", type=Path, help="also save the first 200 training images as a PNG grid")
    args = parser.parse_args()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    families = len(read_fonts(args.fonts))
    with multiprocessing.Pool(args.jobs, init_worker, (str(args.fonts),)) as pool:
        for split, count in (("train", args.train), ("test", args.test)):
            started = time.monotonic()
            labels = balanced_labels(args.seed, split, count)
            tasks = [(args.seed, split, s, labels[s : s + CHUNK]) for s in range(0, count, CHUNK)]
            images = np.concatenate(list(pool.imap(render_chunk, tasks)))  # [N, 28, 28, 3]
            idx.write(args.out_dir / f"{split}-images-idx4-ubyte", images)
            idx.write(args.out_dir / f"{split}-labels-idx1-ubyte", labels)
            print(f"render_syndigits: {split}: {count} images in {time.monotonic() - started:.1f} s "
                  f"({families} font families, {args.jobs} jobs)", file=sys.stderr)
            if split == "train" and args.preview:
                save_preview(args.preview, images, labels)


if __name__ == "__main__":
    main()
