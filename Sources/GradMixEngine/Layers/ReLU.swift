/// The rectifier, `y = max(x, 0)`; backward passes dY where `y > 0`.
///
/// `Sequential` fuses a ReLU into a preceding `Conv2D` or `Dense`; this
/// stand-alone layer is used everywhere else (and in tests).
public struct ReLU: ParameterlessLayer {
  public init() {}
  public var token: String { "relu" }

  public func outputShape(for input: Shape) throws -> Shape { input }

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    BLAS.parallelRanges(n * inputShape.count) { r in
      for j in r { y[j] = max(x[j], 0) }
    }
  }

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>, dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    output y: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    BLAS.parallelRanges(n * inputShape.count) { r in
      for j in r { dx[j] = y[j] > 0 ? dy[j] : 0 }
    }
  }
}
