// The "row GEMM" of a same convolution (GradMixEngine, Conv2D+RowGemm.swift):
// C[i, j] = (accumulate ? C[i, j] : 0) + sum over k of A[i, k] * B[rows[k] + j],
// A row-major [M, K] read in place, B given as one pointer and the offset of
// each of its K rows (so rows may overlap: the three kernel rows kh of a 3x3
// convolution are one shifted plane, read at offsets kh*W apart), C row-major.
// Each C element is one FMA chain over k = 0..<K in order.
//
// Choice: OpenBLAS copies ("packs") its operands before its kernel runs
// (18% of the ResNet step's samples); here the kernel reads B where the
// engine left it, 8 rows of C at a time, 32 columns per step (16 zmm
// accumulators, 8 weight broadcasts and 2 loads of B per k). AVX-512 only,
// chosen at run time; elsewhere the engine keeps cblas_sgemm.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int gm_kernels_have_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define ROWGEMM_TARGET __attribute__((target("avx512f,fma"), always_inline)) static inline

// MR rows of C, columns j..<j+32 (masks m0, m1 for a tail).
ROWGEMM_TARGET void row_tile(int mr, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                             const ptrdiff_t *rows, float *c, ptrdiff_t ldc, int accumulate,
                             __mmask16 m0, __mmask16 m1) {
  __m512 acc0[8], acc1[8];
  for (int r = 0; r < mr; r++) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  for (ptrdiff_t q = 0; q < k; q++) {
    const float *bq = b + rows[q];
    __m512 b0 = _mm512_maskz_loadu_ps(m0, bq), b1 = _mm512_maskz_loadu_ps(m1, bq + 16);
    for (int r = 0; r < mr; r++) {
      __m512 w = _mm512_set1_ps(a[r * lda + q]);
      acc0[r] = _mm512_fmadd_ps(w, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(w, b1, acc1[r]);
    }
  }
  for (int r = 0; r < mr; r++) {
    float *cr = c + r * ldc;
    __m512 v0 = acc0[r], v1 = acc1[r];
    if (accumulate) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

// Each 32 columns of B in turn, for every 8 rows of C (then 4, then 1):
// the 32 columns of all K rows (K x 128 bytes) are read from L2 once and
// reused from L1 by the row blocks. Choice: 3-10% faster than all columns
// per row block on the shapes of the ResNet's convolutions.
__attribute__((target("avx512f,fma"))) void gm_row_gemm_avx512(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
    const ptrdiff_t *rows, float *c, ptrdiff_t ldc, int accumulate) {
  for (ptrdiff_t j = 0; j < n; j += 32) {
    ptrdiff_t left = n - j;
    __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF
                   : left > 16 ? (__mmask16)((1u << (left - 16)) - 1)
                               : (__mmask16)0;
    ptrdiff_t i = 0;
    for (; i + 8 <= m; i += 8)
      row_tile(8, k, a + i * lda, lda, b + j, rows, c + i * ldc + j, ldc, accumulate, m0, m1);
    if (i + 4 <= m) {
      row_tile(4, k, a + i * lda, lda, b + j, rows, c + i * ldc + j, ldc, accumulate, m0, m1);
      i += 4;
    }
    for (; i < m; i++) row_tile(1, k, a + i * lda, lda, b + j, rows, c + i * ldc + j, ldc, accumulate, m0, m1);
  }
}

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: 8x8 blocks
// transposed in registers (the unpack/shuffle/permute network), the edges
// one by one.
__attribute__((target("avx512f,fma"))) void gm_transpose_avx512(
    ptrdiff_t rows, ptrdiff_t cols, const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd) {
  ptrdiff_t i = 0;
  for (; i + 8 <= rows; i += 8) {
    ptrdiff_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      const float *s = src + i * lds + j;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds);
      __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
      __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
      __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float *d = dst + j * ldd + i;
      _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; j < cols; j++)
      for (ptrdiff_t r = i; r < i + 8; r++) dst[j * ldd + r] = src[r * lds + j];
  }
  for (; i < rows; i++)
    for (ptrdiff_t j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

#else  // Not x86-64: the engine keeps cblas_sgemm.

void gm_transpose_avx512(ptrdiff_t rows, ptrdiff_t cols, const float *src, ptrdiff_t lds, float *dst,
                         ptrdiff_t ldd) {
  (void)rows; (void)cols; (void)src; (void)lds; (void)dst; (void)ldd;
  __builtin_trap();
}

int gm_kernels_have_avx512(void) { return 0; }

void gm_row_gemm_avx512(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                        const float *b, const ptrdiff_t *rows, float *c, ptrdiff_t ldc,
                        int accumulate) {
  (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)rows; (void)c; (void)ldc;
  (void)accumulate;
  __builtin_trap();
}

#endif
