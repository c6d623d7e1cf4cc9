/// Inverted dropout: in training, each element is zeroed with probability
/// `rate` and the survivors are scaled by 1 / (1 - rate); in evaluation the
/// layer is the identity.
///
/// The mask (0 or the scale, per element) is drawn from the `RNG` handed to
/// `forward` and kept in scratch for the backward pass.
public struct Dropout: ParameterlessLayer {
  public let rate: Float
  public let token: String

  public init(rate: Float, token: String? = nil) {
    precondition(rate >= 0 && rate < 1, "The dropout rate must be in [0, 1), got \(rate).")
    self.rate = rate
    self.token = token ?? "dropout\(rate)"
  }

  public func outputShape(for input: Shape) throws -> Shape { input }

  public func scratchCount(input: Shape, batch: Int) -> Int { batch * input.count }

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, scratch mask: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let total = n * inputShape.count
    guard mode == .train, rate > 0 else {
      y.update(from: x, count: total)
      mask.update(repeating: 1, count: total)
      return
    }
    let keep = 1 - rate, scale = 1 / keep
    for j in 0..<total {
      let m: Float = rng.uniform() < keep ? scale : 0
      mask[j] = m
      y[j] = x[j] * m
    }
  }

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>, dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    output y: UnsafePointer<Float>, scratch mask: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    let total = n * inputShape.count
    for j in 0..<total { dx[j] = dy[j] * mask[j] }
  }
}
