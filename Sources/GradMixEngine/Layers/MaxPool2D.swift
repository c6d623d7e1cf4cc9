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
    let k = kernelSize, s = stride
    let argmax = UnsafeMutableRawPointer(scratch).bindMemory(to: Int32.self, capacity: planes * g.outPlane)
    BLAS.parallelFor(planes) { p in
      let src = x + p * g.inPlane
      let dst = y + p * g.outPlane
      let idx = argmax + p * g.outPlane
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
  }

  /// The common 2x2, stride-2 window, unrolled (first maximum wins on ties,
  /// as in the general loop).
  @inline(__always)
  static func pool2x2(
    _ dst: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>,
    _ src: UnsafePointer<Float>, _ g: ConvGeometry
  ) {
    let w = g.width
    for oh in 0..<g.outH {
      let r0 = src + 2 * oh * w, r1 = r0 + w
      let base = Int32(2 * oh * w)
      for ow in 0..<g.outW {
        let c = 2 * ow
        var best = r0[c], at = base + Int32(c)
        if r0[c + 1] > best { best = r0[c + 1]; at = base + Int32(c + 1) }
        if r1[c] > best { best = r1[c]; at = base + Int32(w + c) }
        if r1[c + 1] > best { best = r1[c + 1]; at = base + Int32(w + c + 1) }
        dst[oh * g.outW + ow] = best
        idx[oh * g.outW + ow] = at
      }
    }
  }

  // MARK: - Backward

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
