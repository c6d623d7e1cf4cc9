// Umbrella header for OpenBLAS's CBLAS interface (pkg-config: openblas).
#pragma once
#include <cblas.h>
