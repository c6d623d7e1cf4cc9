"""Make the "Your own data" examples from the packaged data sets (data/raw).

Writes, under OUT (default data/examples/):

  fashion-folders/                       an image-folder MS-DTT task, 6 Fashion-MNIST classes
    studio/{train,test}/<class>/*.png    source 1: grey 28x28 PNGs (mode L), as photographed
    tinted/{train,test}/<class>/*.png    source 2: 32x32 colour PNGs, every third one a palette PNG
    street/{train,test}/<class>/*.jpg    target: 36x36 JPEGs (quality 90), items blended over photo crops
  digit-features/                        a feature-vector MS-DTT task: 64-D vectors of 8x8 digits (0-1)
    uci.npz        source: UCI handwritten digits, the 8x8 originals (np.savez, stored)
    mnist8.npz     target: MNIST reduced to 8x8 by area averaging (np.savez_compressed, deflated)
    syn8.npz       source: syndigits reduced to 8x8 grey (np.savez_compressed)
  motions/                               a small activity-recognition task (BasicMotions, from the aeon wheel)
    gyro.npz, accel.npz                  the smart watch's gyroscope / accelerometer, 3 axes x 100 samples
                                         flattened to [N, 300], each axis standardised with the train
                                         recordings' mean and std; 40 train + 40 test recordings each

Every image and vector is a pure function of the packaged files and --seed, so a rerun writes the
same bytes. Usage (with the project's venv, see scripts/setup-python.sh):

  .venv/bin/python scripts/data/make_example_data.py [--data-root data/raw] [--out data/examples]
"""

import argparse
import gzip
import os
import shutil

import numpy as np
from PIL import Image


CLASSES = {0: "t-shirt", 1: "trouser", 2: "pullover", 3: "dress", 7: "sneaker", 8: "bag"}


def read_idx(path):
    """An IDX file (raw or gzip) as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion(root, part):
    prefix = "train" if part == "train" else "t10k"
    x = read_idx(f"{root}/fashion/{prefix}-images-idx3-ubyte.gz")
    y = read_idx(f"{root}/fashion/{prefix}-labels-idx1-ubyte.gz")
    return x, y


def pick(y, per_class, rng):
    """Indices of `per_class` images of each example class, in file order."""
    out = []
    for c in CLASSES:
        idxs = np.flatnonzero(y == c)
        out += sorted(rng.choice(idxs, per_class, replace=False).tolist())
    return out


def photo_bank(root):
    names = [line.split("\t")[1] for line in open(f"{root}/photos/MANIFEST.tsv").read().splitlines()[1:]]
    return [read_idx(f"{root}/photos/{n}") for n in names]


def write_folders(x, y, indices, out, kind, rng, photos):
    for k, i in enumerate(indices):
        cls = CLASSES[int(y[i])]
        os.makedirs(f"{out}/{cls}", exist_ok=True)
        img = Image.fromarray(x[i], "L")
        if kind == "studio":
            img.save(f"{out}/{cls}/{k:05d}.png")
        elif kind == "tinted":
            colour = rng.integers(40, 256, 3)
            g = np.asarray(img.resize((32, 32), Image.BILINEAR), np.float64)[..., None] / 255
            rgb = (g * colour).astype(np.uint8)
            im = Image.fromarray(rgb, "RGB")
            if k % 3 == 0:
                im = im.quantize(64)  # palette PNG
            im.save(f"{out}/{cls}/{k:05d}.png")
        else:  # street: blended over a photo crop, like MNIST-M
            p = photos[rng.integers(len(photos))]
            y0, x0 = rng.integers(p.shape[0] - 36), rng.integers(p.shape[1] - 36)
            bg = p[y0:y0 + 36, x0:x0 + 36].astype(np.int16)
            g = np.asarray(img.resize((36, 36), Image.BILINEAR), np.int16)[..., None]
            rgb = np.abs(bg - g).astype(np.uint8)
            Image.fromarray(rgb, "RGB").save(f"{out}/{cls}/{k:05d}.jpg", quality=90)


def reduce8(x):
    """[N, 28, 28] or [N, 28, 28, 3] uint8 to [N, 64] float32 in 0-1 (grey, 28x28 -> 8x8 area average)."""
    if x.ndim == 4:
        x = (x.astype(np.float64) * [0.299, 0.587, 0.114]).sum(-1)
    out = np.empty((len(x), 8, 8))
    for i, img in enumerate(x):
        out[i] = np.asarray(Image.fromarray(img.astype(np.float32), "F").resize((8, 8), Image.BOX))
    return (out.reshape(len(x), 64) / 255).astype(np.float32)


MOTIONS = ["Standing", "Running", "Walking", "Badminton"]


def read_ts(path):
    """A .ts file of BasicMotions: [N, 6, 100] float32 and the labels (index in MOTIONS)."""
    xs, ys, in_data = [], [], False
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            in_data = True
            continue
        if not in_data:
            continue
        *dims, label = line.split(":")
        xs.append([[float(v) for v in d.split(",")] for d in dims])
        ys.append(MOTIONS.index(label))
    return np.asarray(xs, np.float32), np.asarray(ys, np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("GRADMIX_DATA", "data/raw"))
    ap.add_argument("--out", default="data/examples")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    root, out = a.data_root, a.out
    rng = np.random.default_rng(a.seed)
    photos = photo_bank(root)

    folders = f"{out}/fashion-folders"
    shutil.rmtree(folders, ignore_errors=True)
    for kind, per_train, per_test in [("studio", 300, 50), ("tinted", 300, 50), ("street", 200, 100)]:
        for part, per in [("train", per_train), ("test", per_test)]:
            x, y = fashion(root, part)
            write_folders(x, y, pick(y, per, rng), f"{folders}/{kind}/{part}", kind, rng, photos)
    n = sum(len(f) for _, _, f in os.walk(folders))
    print(f"{folders}: {n} images, classes {', '.join(sorted(CLASSES.values()))}")

    feats = f"{out}/digit-features"
    os.makedirs(feats, exist_ok=True)
    csv = np.loadtxt(gzip.open(f"{root}/uci/digits.csv.gz"), delimiter=",", dtype=np.float64)
    ux, uy = (csv[:, :64] / 16).astype(np.float32), csv[:, 64].astype(np.int64)
    test = np.zeros(len(uy), bool)  # every fifth image of each class is test, as gradmix partitions uci
    for c in range(10):
        test[np.flatnonzero(uy == c)[4::5]] = True
    np.savez(f"{feats}/uci.npz", x_train=ux[~test], y_train=uy[~test], x_test=ux[test], y_test=uy[test])
    mx, my = read_idx(f"{root}/mnist/train-images-idx3-ubyte"), read_idx(f"{root}/mnist/train-labels-idx1-ubyte")
    tx, ty = read_idx(f"{root}/mnist/t10k-images-idx3-ubyte"), read_idx(f"{root}/mnist/t10k-labels-idx1-ubyte")
    i, j = rng.choice(len(my), 3000, replace=False), rng.choice(len(ty), 1000, replace=False)
    np.savez_compressed(f"{feats}/mnist8.npz", x_train=reduce8(mx[i]), y_train=my[i].astype(np.int64),
                        x_test=reduce8(tx[j]), y_test=ty[j].astype(np.int64))
    sx, sy = read_idx(f"{root}/syndigits/train-images-idx4-ubyte"), read_idx(f"{root}/syndigits/train-labels-idx1-ubyte")
    vx, vy = read_idx(f"{root}/syndigits/test-images-idx4-ubyte"), read_idx(f"{root}/syndigits/test-labels-idx1-ubyte")
    i, j = rng.choice(len(sy), 3000, replace=False), rng.choice(len(vy), 1000, replace=False)
    np.savez_compressed(f"{feats}/syn8.npz", x_train=reduce8(sx[i]), y_train=sy[i].astype(np.int32),
                        x_test=reduce8(vx[j]), y_test=vy[j].astype(np.int32))
    print(f"{feats}: uci.npz, mnist8.npz, syn8.npz ([N, 64] float32, values 0-1)")

    if not os.path.exists(f"{root}/motions/BasicMotions_TRAIN.ts"):
        print(f"skipped motions: no {root}/motions (scripts/fetch-data.sh fetches it)")
        return
    motions = f"{out}/motions"
    os.makedirs(motions, exist_ok=True)
    (tx, ty), (vx, vy) = (read_ts(f"{root}/motions/BasicMotions_{p}.ts") for p in ["TRAIN", "TEST"])
    # Channels 0-2 are the accelerometer's x, y, z and 3-5 the gyroscope's (the UEA archive's order).
    # Each axis is standardised with the mean and std of that sensor's train recordings only.
    for name, axes in [("accel", slice(0, 3)), ("gyro", slice(3, 6))]:
        mean = tx[:, axes].mean(axis=(0, 2), keepdims=True)
        std = tx[:, axes].std(axis=(0, 2), keepdims=True)
        a, b = (tx[:, axes] - mean) / std, (vx[:, axes] - mean) / std
        np.savez(f"{motions}/{name}.npz", x_train=a.reshape(len(tx), 300).astype(np.float32), y_train=ty,
                 x_test=b.reshape(len(vx), 300).astype(np.float32), y_test=vy)
    print(f"{motions}: accel.npz, gyro.npz ([N, 300] float32; {len(ty)} train + {len(vy)} test recordings, "
          f"classes {', '.join(MOTIONS)})")


if __name__ == "__main__":
    main()
