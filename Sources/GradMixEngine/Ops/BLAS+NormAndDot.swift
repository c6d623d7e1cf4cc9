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
extension BLAS {
  /// Elements per float block; the blocks are summed in double.
  static let normAndDotBlock = 64

  /// `(‖g‖², ⟨t, g⟩)`, one pass over both slices (blocks in float, their sum in double).
  public static func squaredNormAndDot(
    _ g: UnsafeBufferPointer<Float>, _ t: UnsafeBufferPointer<Float>
  ) -> (squaredNorm: Double, dot: Double) {
    precondition(g.count == t.count, "squaredNormAndDot needs equal lengths, got \(g.count) and \(t.count).")
    let n = g.count
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
  public static func squaredNorm(_ g: UnsafeBufferPointer<Float>) -> Double {
    let n = g.count
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
