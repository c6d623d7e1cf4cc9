// Legend: N = batch, C = channels, H, W = input size, OH, OW = output size.

/// Average pooling over `kernelSize` x `kernelSize` windows with `stride`
/// and no padding (PyTorch's `AvgPool2d(K, S)`): each output is the mean
/// of its K² inputs; backward spreads dY/K² over the window.
public struct AvgPool2D: WindowPooling {
  public let window: PoolingWindow

  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` (see ``PoolingWindow``).
  public init(kernelSize: Int, stride: Int? = nil, input: Shape, token: String? = nil) throws {
    window = try PoolingWindow(name: "avgpool", kernelSize: kernelSize, stride: stride, input: input, token: token)
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let g = window.geometry
    let k = kernelSize, s = stride, scale = 1 / Float(k * k)
    BLAS.parallelFor(n * g.channels) { p in
      let src = x + p * g.inPlane, dst = y + p * g.outPlane
      for oh in 0..<g.outH {
        for ow in 0..<g.outW {
          var sum: Float = 0
          for kh in 0..<k {
            let row = src + (oh * s + kh) * g.width + ow * s
            for kw in 0..<k { sum += row[kw] }
          }
          dst[oh * g.outW + ow] = sum * scale
        }
      }
    }
  }

  // MARK: - Backward

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>, dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    output y: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    let g = window.geometry
    let k = kernelSize, s = stride, scale = 1 / Float(k * k)
    BLAS.parallelFor(n * g.channels) { p in
      let d = dx + p * g.inPlane, src = dy + p * g.outPlane
      zeroFloats(d, g.inPlane)
      for oh in 0..<g.outH {
        for ow in 0..<g.outW {
          let v = src[oh * g.outW + ow] * scale
          for kh in 0..<k {
            let row = d + (oh * s + kh) * g.width + ow * s
            for kw in 0..<k { row[kw] += v }
          }
        }
      }
    }
  }
}
