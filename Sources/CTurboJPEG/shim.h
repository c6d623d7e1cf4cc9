// Umbrella header for libjpeg-turbo's TurboJPEG API (pkg-config: libturbojpeg,
// Debian libturbojpeg0-dev): decoding image-folder JPEGs.
#pragma once
#include <stddef.h>
#include <turbojpeg.h>
