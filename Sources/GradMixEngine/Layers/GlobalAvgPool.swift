// Legend: N = batch, C = channels, P = H*W.

/// Global average pooling: [C, H, W] -> [C], the mean of each channel's
/// plane (PyTorch's `AdaptiveAvgPool2d(1)` followed by `Flatten`).
public struct GlobalAvgPool: ParameterlessLayer {
  public init() {}
  public var token: String { "gap" }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input.rank == 3 else {
      throw ModelSpecError.doesNotFit(
        layer: token, input: input, reason: "global average pooling needs a [C, H, W] input")
    }
    return Shape([input.dims[0]])
  }

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let p = inputShape.count / inputShape.dims[0], scale = 1 / Float(p)
    for q in 0..<(n * inputShape.dims[0]) { y[q] = sumFloats(x + q * p, p) * scale }
  }

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>, dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    output y: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    let p = inputShape.count / inputShape.dims[0], scale = 1 / Float(p)
    for q in 0..<(n * inputShape.dims[0]) {
      (dx + q * p).update(repeating: dy[q] * scale, count: p)
    }
  }
}
