"""Read and write IDX files, the uint8 array format of LeCun's MNIST distribution.

Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions,
then one big-endian uint32 per dimension, then the values in row-major (C) order.
So an [N, 28, 28, 3] image array has the magic number 0x00000804 and a 32-byte header.
"""

import struct

import numpy as np

UBYTE = 0x08


def header(shape):
    """Return the IDX header bytes for a uint8 array of the given shape."""
    return bytes([0, 0, UBYTE, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def file_size(shape):
    """Return the size in bytes of the IDX file holding a uint8 array of `shape`."""
    return len(header(shape)) + int(np.prod(shape, dtype=np.int64))


def write(path, array):
    """Write a uint8 numpy array to `path` as an IDX file."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer only handles uint8, got {array.dtype} for {path}")
    with open(path, "wb") as f:
        f.write(header(array.shape))
        f.write(np.ascontiguousarray(array).tobytes())


def read(path):
    """Read a uint8 IDX file (uncompressed) into a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] != bytes([0, 0, UBYTE]):
        raise ValueError(f"{path}: not a uint8 IDX file (first bytes {data[:4].hex()})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"{path}: header says {shape} but holds {values.size} values")
    return values.reshape(shape)
