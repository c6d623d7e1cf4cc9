// Umbrella header for libpng (pkg-config: libpng): decoding image-folder PNGs
// through the simplified API (png_image_*), which handles grey, RGB, RGBA,
// palette and 16-bit files.
#pragma once
#include <png.h>
