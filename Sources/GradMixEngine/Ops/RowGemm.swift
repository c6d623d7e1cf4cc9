import CKernels

// Legend: see ConvGeometry; L = (H + 2p) * W, a stride-1 shifted plane (ShiftedPlanes.swift).

/// The GEMM of a convolution without OpenBLAS's copies of its operands:
/// `C = A·B` where row k of B [K, N] is `N` floats at any offset of one
/// buffer (`CKernels`, RowGemm.c; AVX-512, chosen at run time).
///
/// Choice (issue 30, the ResNet step): `cblas_sgemm` copies ("packs") its
/// operands into its panel layout before multiplying (`sgemm_itcopy`,
/// `oncopy`, `incopy`: 18% of the step's samples, most of it the column
/// matrices), and im2col has written 9·C rows per image before that. A 3x3
/// same convolution's rows (c, kh, kw) for kh = 0, 1, 2 are one plane
/// shifted by whole rows, so the engine builds only the KW shifted planes
/// per channel (3·C rows instead of 9·C; ``ShiftedPlanes``, which also
/// splits a strided input into row phases) and this kernel reads row (c, kh,
/// kw) at offset `(c·KW + kw)·L + kh·W`: forward (weight · shifted planes of
/// x), dX of a same convolution (flipped weight · shifted planes of dY) and
/// dW (tap by tap: shifted planes of x · dYᵀ; Conv2D+RowGemm.swift).
/// Measured alone (one thread, OpenBLAS on its SkylakeX kernels, including
/// its copies): [32, 288]·[288, 1024] 140 → 100 µs, [64, 576]·[576, 256] 109
/// → 93 µs; with the planes written just before and a cold output, about
/// 145 GFLOP/s on the ResNet's shapes. Every element is one FMA chain over k
/// in order, as OpenBLAS's kernel computes it when K fits one of its K
/// blocks (same bits there; larger K rounds differently).
public enum RowGemm {
  /// Whether this machine runs the kernel (x86-64 with AVX-512F).
  public static let available = gm_kernels_have_avx512() != 0

  /// How this machine multiplies convolutions, for `gradmix info`, the start-up table and provenance.
  public static var summary: String {
    available
      ? "row GEMM (AVX-512): every convolution's forward, dW of all but valid ones under 8 channels, dX of same ones; im2col + sgemm for the rest"
      : "im2col + sgemm (no AVX-512: no row GEMM)"
  }

  /// `c[i, j] = (accumulate ? c[i, j] : 0) + Σ_k a[i·lda + k]·b[rows[k] + j]`, i < m, j < n.
  public static func multiply(
    _ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, rows: UnsafePointer<Int>, m: Int, n: Int, k: Int, accumulate: Bool
  ) {
    precondition(available, "The row GEMM needs AVX-512F.")
    gm_row_gemm_avx512(m, n, k, a, lda, b, rows, c, ldc, accumulate ? 1 : 0)
  }

  /// `dst[j·ldd + i] = src[i·lds + j]` for i < rows, j < cols.
  public static func transpose(
    _ dst: UnsafeMutablePointer<Float>, ldd: Int, _ src: UnsafePointer<Float>, lds: Int, rows: Int, cols: Int
  ) {
    precondition(available, "The transpose kernel needs AVX-512F.")
    gm_transpose_avx512(rows, cols, src, lds, dst, ldd)
  }
}
