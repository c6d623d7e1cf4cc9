// Umbrella header for zlib (pkg-config: zlib): gzip reading, PNG deflate, CRC-32.
#pragma once
#include <zlib.h>
