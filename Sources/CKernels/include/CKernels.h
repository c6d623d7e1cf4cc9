// GradMix's own C kernels: the step's statistics loops with AVX, and the same
// convolutions' row GEMM with AVX-512 (RowGemm.c), chosen at run time
// (the Swift targets are compiled for baseline x86-64, SSE2 only). Each statistics
// kernel gives the same result bit for bit as the portable Swift loop it stands in for
// (GradMixEngine, BLAS+NormAndDot.swift); the row GEMM stands in for cblas_sgemm, to
// float rounding (RowGemmTests compare both).
#ifndef GRADMIX_CKERNELS_H
#define GRADMIX_CKERNELS_H

#include <stddef.h>

/// 1 if this CPU and OS run AVX (the kernels below may be called), else 0.
int gm_kernels_have_avx(void);

/// (‖g‖², ⟨t, g⟩) of n floats: blocks of 64 summed in float lanes, the blocks in double.
void gm_squared_norm_and_dot_avx(const float *g, const float *t, ptrdiff_t n, double *norm, double *dot);

/// ‖g‖² of n floats, the same blocks.
double gm_squared_norm_avx(const float *g, ptrdiff_t n);

/// 1 if this CPU and OS run AVX-512F (``gm_row_gemm_avx512`` may be called), else 0.
int gm_kernels_have_avx512(void);

/// C[i, j] = (accumulate ? C[i, j] : 0) + Σ_k A[i*lda + k]·B[rows[k] + j] for i < m, j < n,
/// k < K (C row-major with ldc): a GEMM whose [K, N] operand is K rows anywhere in `b`
/// (RowGemm.c). Each element is one fused multiply-add chain over k in order.
void gm_row_gemm_avx512(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                        const float *b, const ptrdiff_t *rows, float *c, ptrdiff_t ldc, int accumulate);

/// dst[j*ldd + i] = src[i*lds + j] for i < rows, j < cols (AVX-512 machines, as above).
void gm_transpose_avx512(ptrdiff_t rows, ptrdiff_t cols, const float *src, ptrdiff_t lds, float *dst,
                         ptrdiff_t ldd);

#endif
