// GradMix's own C kernels: the step's statistics loops with AVX, chosen at run time
// (the Swift targets are compiled for baseline x86-64, SSE2 only). Each gives the same
// result bit for bit as the portable Swift loop it stands in for (GradMixEngine,
// BLAS+NormAndDot.swift); the tests compare the two.
#ifndef GRADMIX_CKERNELS_H
#define GRADMIX_CKERNELS_H

#include <stddef.h>

/// 1 if this CPU and OS run AVX (the kernels below may be called), else 0.
int gm_kernels_have_avx(void);

/// (‖g‖², ⟨t, g⟩) of n floats: blocks of 64 summed in float lanes, the blocks in double.
void gm_squared_norm_and_dot_avx(const float *g, const float *t, ptrdiff_t n, double *norm, double *dot);

/// ‖g‖² of n floats, the same blocks.
double gm_squared_norm_avx(const float *g, ptrdiff_t n);

#endif
