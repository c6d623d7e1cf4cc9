// Legend: N = batch, C = channels, H, W = input size, OH, OW = output size.

/// Max pooling over `kernelSize` x `kernelSize` windows with `stride`.
///
/// Forward records the flat index of each window's maximum (first one on
/// ties) in scratch, as `Int32`; backward routes dY to those positions.
public struct MaxPool2D: WindowPooling {
  public let window: PoolingWindow

  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` (see ``PoolingWindow``).
  public init(kernelSize: Int, stride: Int? = nil, input: Shape, token: String? = nil) throws {
    window = try PoolingWindow(name: "pool", kernelSize: kernelSize, stride: stride, input: input, token: token)
  }

  /// One Int32 argmax index per output element (stored in Float-sized slots).
  public func scratchCount(input: Shape, batch: Int) -> Int {
    batch * window.geometry.channels * window.geometry.outPlane
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let g = window.geometry
    let planes = n * g.channels
    let argmax = UnsafeMutableRawPointer(scratch).bindMemory(to: Int32.self, capacity: planes * g.outPlane)
    BLAS.parallelFor(planes) { p in
      MaxPool2D.pool(y + p * g.outPlane, argmax + p * g.outPlane, x + p * g.inPlane, g)
    }
  }

  /// Pools one [H, W] plane into `dst` [OH, OW], the flat index of each
  /// window's maximum (the first one on ties) into `idx`.
  @inline(__always)
  static func pool(
    _ dst: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ src: UnsafePointer<Float>,
    _ g: ConvGeometry
  ) {
    let k = g.kernelH, s = g.stride
    if k == 2 && s == 2 {
      MaxPool2D.pool2x2(dst, idx, src, g)
      return
    }
    for oh in 0..<g.outH {
      for ow in 0..<g.outW {
        var best = -Float.infinity
        var bestIndex = (oh * s) * g.width + ow * s
        for kh in 0..<k {
          let rowStart = (oh * s + kh) * g.width + ow * s
          for kw in 0..<k where src[rowStart + kw] > best {
            best = src[rowStart + kw]; bestIndex = rowStart + kw
          }
        }
        dst[oh * g.outW + ow] = best
        idx[oh * g.outW + ow] = Int32(bestIndex)
      }
    }
  }

  /// The common 2x2, stride-2 window, four outputs per step: SIMD8 loads
  /// of two input rows, their even and odd lanes compared in the order of
  /// the general loop (first maximum wins on ties, a NaN never wins), then
  /// the tail of the row one output at a time. Same values and indices as
  /// the scalar loop. Choice: measured in results/screens/2026-12-05-engine-profile.md.
  @inline(__always)
  static func pool2x2(
    _ dst: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>,
    _ src: UnsafePointer<Float>, _ g: ConvGeometry
  ) {
    let w = g.width, outW = g.outW, w32 = Int32(w)
    let lanes = SIMD4<Int32>(0, 2, 4, 6)
    for oh in 0..<g.outH {
      let r0 = src + 2 * oh * w, r1 = r0 + w
      let base = Int32(2 * oh * w)
      let d = dst + oh * outW, ix = idx + oh * outW
      var ow = 0
      while ow + 4 <= outW {
        let c = 2 * ow
        let top = UnsafeRawPointer(r0 + c).loadUnaligned(as: SIMD8<Float>.self)
        let bottom = UnsafeRawPointer(r1 + c).loadUnaligned(as: SIMD8<Float>.self)
        let i0 = lanes &+ (base + Int32(c))
        var best = top.evenHalf, at = i0
        let b = top.oddHalf, cc = bottom.evenHalf, dd = bottom.oddHalf
        var m = b .> best
        best.replace(with: b, where: m); at.replace(with: i0 &+ 1, where: m)
        m = cc .> best
        best.replace(with: cc, where: m); at.replace(with: i0 &+ w32, where: m)
        m = dd .> best
        best.replace(with: dd, where: m); at.replace(with: i0 &+ (w32 + 1), where: m)
        UnsafeMutableRawPointer(d + ow).storeBytes(of: best, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(ix + ow).storeBytes(of: at, as: SIMD4<Int32>.self)
        ow += 4
      }
      while ow < outW {
        let c = 2 * ow
        var best = r0[c], at = base + Int32(c)
        if r0[c + 1] > best { best = r0[c + 1]; at = base + Int32(c + 1) }
        if r1[c] > best { best = r1[c]; at = base + Int32(w + c) }
        if r1[c + 1] > best { best = r1[c + 1]; at = base + Int32(w + c + 1) }
        d[ow] = best
        ix[ow] = at
        ow += 1
      }
    }
  }

  // MARK: - Backward

  /// `d[idx[j]] += mask[j] > 0 ? src[j] : 0` for j < count: routes a
  /// pooled gradient through a ReLU whose output was pooled (the window's
  /// maximum is > 0 exactly where the ReLU passed the argmax). Eight SIMD
  /// selects at a time, as a `?:` per element compiles to a branch that
  /// mispredicts; the same sums as the scalar loop.
  @inline(__always)
  static func maskedScatter(
    _ d: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ idx: UnsafePointer<Int32>,
    mask: UnsafePointer<Float>, _ count: Int
  ) {
    var j = 0
    while j + 8 <= count {
      let v = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
      let m = UnsafeRawPointer(mask + j).loadUnaligned(as: SIMD8<Float>.self) .> 0
      let masked = SIMD8<Float>(repeating: 0).replacing(with: v, where: m)
      for l in 0..<8 { d[Int(idx[j + l])] += masked[l] }
      j += 8
    }
    while j < count {
      let m = SIMD2<Float>(mask[j], 0) .> 0
      d[Int(idx[j])] += SIMD2<Float>(repeating: 0).replacing(with: SIMD2(src[j], 0), where: m)[0]
      j += 1
    }
  }

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>, dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    output y: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    let g = window.geometry
    let planes = n * g.channels
    let argmax = UnsafeMutableRawPointer(scratch).bindMemory(to: Int32.self, capacity: planes * g.outPlane)
    BLAS.parallelFor(planes) { p in
      let d = dx + p * g.inPlane
      zeroLongFloats(d, g.inPlane)
      let src = dy + p * g.outPlane
      let idx = argmax + p * g.outPlane
      for j in 0..<g.outPlane { d[Int(idx[j])] += src[j] }
    }
  }
}
