// The AVX forms of BLAS.squaredNormAndDot and BLAS.squaredNorm (GradMixEngine,
// BLAS+NormAndDot.swift), the same arithmetic in the same order, so the same
// bits: lane i of a 64-element block's first accumulator adds the products of
// elements i, i+16, i+32, i+48 and the second those of i+8, ...; the two are
// added lane by lane, the 8 lanes summed left to right in float, and each block's
// sum added to the double total in order; elements past the last whole block are
// summed in double. Choice: what is faster is only the lane width (8 where the
// Swift targets, built for SSE2, have 4) and how the lanes are summed: 8 blocks
// at a time, their vectors transposed so that one vector add sums lane k of 8
// blocks at once (7 vector adds where 56 scalar adds were, per sum).
#include "CKernels.h"

// No multiply-add may be fused: the Swift loop rounds each product.
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

enum { BLOCK = 64, GROUP = 8 };

int gm_kernels_have_avx(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx") ? 1 : 0;  // the CPU's flag and the OS's saving of ymm state
}

// s[b] = ((r[b][0] + r[b][1]) + ...) + r[b][7], b = 0..<8: the 8x8 transpose of r, then its rows added.
__attribute__((target("avx"))) static inline __m256 lane_sums(const __m256 r[GROUP]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  __m256 s = _mm256_permute2f128_ps(u0, u4, 0x20);  // column 0
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u1, u5, 0x20));
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u2, u6, 0x20));
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u3, u7, 0x20));
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u0, u4, 0x31));
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u1, u5, 0x31));
  s = _mm256_add_ps(s, _mm256_permute2f128_ps(u2, u6, 0x31));
  return _mm256_add_ps(s, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// The 8 lanes of v summed left to right.
__attribute__((target("avx"))) static inline float lane_sum(__m256 v) {
  float x[8];
  _mm256_storeu_ps(x, v);
  float s = x[0];
  for (int i = 1; i < 8; i++) s += x[i];
  return s;
}

// One block's lanes of g·g and g·t.
__attribute__((target("avx"))) static inline void block_norm_dot(const float *g, const float *t, __m256 *norm, __m256 *dot) {
  __m256 n0 = _mm256_setzero_ps(), n1 = n0, d0 = n0, d1 = n0;
  for (int i = 0; i < BLOCK; i += 16) {
    __m256 ga = _mm256_loadu_ps(g + i), ta = _mm256_loadu_ps(t + i);
    __m256 gb = _mm256_loadu_ps(g + i + 8), tb = _mm256_loadu_ps(t + i + 8);
    n0 = _mm256_add_ps(n0, _mm256_mul_ps(ga, ga));
    d0 = _mm256_add_ps(d0, _mm256_mul_ps(ga, ta));
    n1 = _mm256_add_ps(n1, _mm256_mul_ps(gb, gb));
    d1 = _mm256_add_ps(d1, _mm256_mul_ps(gb, tb));
  }
  *norm = _mm256_add_ps(n0, n1);
  *dot = _mm256_add_ps(d0, d1);
}

// One block's lanes of g·g.
__attribute__((target("avx"))) static inline __m256 block_norm(const float *g) {
  __m256 n0 = _mm256_setzero_ps(), n1 = n0;
  for (int i = 0; i < BLOCK; i += 16) {
    __m256 ga = _mm256_loadu_ps(g + i), gb = _mm256_loadu_ps(g + i + 8);
    n0 = _mm256_add_ps(n0, _mm256_mul_ps(ga, ga));
    n1 = _mm256_add_ps(n1, _mm256_mul_ps(gb, gb));
  }
  return _mm256_add_ps(n0, n1);
}

__attribute__((target("avx"))) void gm_squared_norm_and_dot_avx(
    const float *g, const float *t, ptrdiff_t n, double *out_norm, double *out_dot) {
  double norm = 0, dot = 0;
  ptrdiff_t j = 0;
  for (; j + GROUP * BLOCK <= n; j += GROUP * BLOCK) {
    __m256 nv[GROUP], dv[GROUP];
    for (int b = 0; b < GROUP; b++) block_norm_dot(g + j + b * BLOCK, t + j + b * BLOCK, &nv[b], &dv[b]);
    float ns[GROUP], ds[GROUP];
    _mm256_storeu_ps(ns, lane_sums(nv));
    _mm256_storeu_ps(ds, lane_sums(dv));
    for (int b = 0; b < GROUP; b++) {
      norm += (double)ns[b];
      dot += (double)ds[b];
    }
  }
  for (; j + BLOCK <= n; j += BLOCK) {
    __m256 nv, dv;
    block_norm_dot(g + j, t + j, &nv, &dv);
    norm += (double)lane_sum(nv);
    dot += (double)lane_sum(dv);
  }
  for (; j < n; j++) {
    double x = g[j];
    norm += x * x;
    dot += x * (double)t[j];
  }
  *out_norm = norm;
  *out_dot = dot;
}

__attribute__((target("avx"))) double gm_squared_norm_avx(const float *g, ptrdiff_t n) {
  double norm = 0;
  ptrdiff_t j = 0;
  for (; j + GROUP * BLOCK <= n; j += GROUP * BLOCK) {
    __m256 nv[GROUP];
    for (int b = 0; b < GROUP; b++) nv[b] = block_norm(g + j + b * BLOCK);
    float ns[GROUP];
    _mm256_storeu_ps(ns, lane_sums(nv));
    for (int b = 0; b < GROUP; b++) norm += (double)ns[b];
  }
  for (; j + BLOCK <= n; j += BLOCK) norm += (double)lane_sum(block_norm(g + j));
  for (; j < n; j++) {
    double x = g[j];
    norm += x * x;
  }
  return norm;
}

#else  // No AVX form on other architectures: the Swift loops run there.

int gm_kernels_have_avx(void) { return 0; }

void gm_squared_norm_and_dot_avx(const float *g, const float *t, ptrdiff_t n, double *norm, double *dot) {
  (void)g, (void)t, (void)n;
  *norm = 0, *dot = 0;
}

double gm_squared_norm_avx(const float *g, ptrdiff_t n) {
  (void)g, (void)n;
  return 0;
}

#endif
