import CKernels

/// The GradMix statistics of one (source, layer) pair in one pass.
///
/// Choice (issue 10, the mixing share of the step): `‖g‖²` and `⟨t, g⟩` were
/// two `cblas_dsdot` calls, three reads of 81k floats per source on the
/// digit CNN, with every element converted to double on the way (45 µs a
/// call against 25 µs for `sdot`). This loop reads `g` and `t` once. It sums
/// blocks of 64 elements in float SIMD lanes (each lane adds 4 products) and
/// the blocks in double, so its error is about 1e-7 of Σ|g_i t_i|, against
/// `dsdot`'s ~1e-10 (exact products in double): far below the step-to-step
/// noise of the scores it feeds (docs/DESIGN.md). Not `@inlinable`: the
/// engine is compiled with `-Ounchecked`, under which these loops vectorise.
///
/// Choice (issue 10, the mixing share again): the Swift targets are compiled
/// for baseline x86-64 (SSE2, 4-wide lanes), where these loops run at about 4
/// elements per ns on a cached layer. On a CPU with AVX the
/// same arithmetic in the same order runs as C (`CKernels`, NormAndDot.c:
/// 8-wide lanes, 8 blocks' lanes summed by one transpose), 1.5–1.9× as fast on
/// a cached layer in a micro-benchmark, and the same bits, so the choice of kernel never changes a
/// run. ``NormAndDotKernel/portable`` keeps the Swift loops (and is what the
/// tests hold the C kernel to).
extension BLAS {
  /// Elements per float block; the blocks are summed in double.
  static let normAndDotBlock = 64

  /// Which form of the norm-and-dot loops runs.
  public enum NormAndDotKernel: Sendable {
    /// The Swift loops below (any CPU).
    case portable
    /// The C kernels with AVX (x86-64 with AVX, found at run time).
    case avx

    /// The kernel this machine runs: `avx` where the CPU and OS support it.
    public static let selected: NormAndDotKernel = gm_kernels_have_avx() != 0 ? .avx : .portable
  }

  /// `(‖g‖², ⟨t, g⟩)`, one pass over both slices (blocks in float, their sum in double).
  public static func squaredNormAndDot(
    _ g: UnsafeBufferPointer<Float>, _ t: UnsafeBufferPointer<Float>,
    kernel: NormAndDotKernel = .selected
  ) -> (squaredNorm: Double, dot: Double) {
    precondition(g.count == t.count, "squaredNormAndDot needs equal lengths, got \(g.count) and \(t.count).")
    let n = g.count
    if kernel == .avx && n > 0 {
      precondition(NormAndDotKernel.selected == .avx, "The AVX kernel does not run on this machine.")
      var norm = 0.0, dot = 0.0
      gm_squared_norm_and_dot_avx(g.baseAddress, t.baseAddress, n, &norm, &dot)
      return (norm, dot)
    }
    guard n > 0, let gp = g.baseAddress, let tp = t.baseAddress else { return (0, 0) }
    let gr = UnsafeRawPointer(gp), tr = UnsafeRawPointer(tp)
    var norm = 0.0, dot = 0.0
    var j = 0
    while j + normAndDotBlock <= n {
      var n0 = SIMD8<Float>(), n1 = SIMD8<Float>(), d0 = SIMD8<Float>(), d1 = SIMD8<Float>()
      var i = j
      while i < j + normAndDotBlock {
        let ga = gr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let ta = tr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let gb = gr.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        let tb = tr.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        n0 += ga * ga
        d0 += ga * ta
        n1 += gb * gb
        d1 += gb * tb
        i += 16
      }
      norm += Double((n0 + n1).sum())
      dot += Double((d0 + d1).sum())
      j += normAndDotBlock
    }
    while j < n {
      let x = Double(gp[j])
      norm += x * x
      dot += x * Double(tp[j])
      j += 1
    }
    return (norm, dot)
  }

  /// `‖g‖²` (the same blocks as ``squaredNormAndDot(_:_:)``).
  public static func squaredNorm(_ g: UnsafeBufferPointer<Float>, kernel: NormAndDotKernel = .selected) -> Double {
    let n = g.count
    if kernel == .avx && n > 0 {
      precondition(NormAndDotKernel.selected == .avx, "The AVX kernel does not run on this machine.")
      return gm_squared_norm_avx(g.baseAddress, n)
    }
    guard n > 0, let gp = g.baseAddress else { return 0 }
    let gr = UnsafeRawPointer(gp)
    var norm = 0.0
    var j = 0
    while j + normAndDotBlock <= n {
      var n0 = SIMD8<Float>(), n1 = SIMD8<Float>()
      var i = j
      while i < j + normAndDotBlock {
        let ga = gr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let gb = gr.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        n0 += ga * ga
        n1 += gb * gb
        i += 16
      }
      norm += Double((n0 + n1).sum())
      j += normAndDotBlock
    }
    while j < n {
      let x = Double(gp[j])
      norm += x * x
      j += 1
    }
    return norm
  }
}
