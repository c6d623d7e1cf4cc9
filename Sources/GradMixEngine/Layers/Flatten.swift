/// Reinterprets a [C, H, W] sample as a [C*H*W] vector (PyTorch's order).
///
/// A view: the workspace gives input and output one buffer, so neither pass
/// moves memory.
public struct Flatten: StatelessLayer {
  public init() {}
  public var token: String { "flatten" }
  public var isView: Bool { true }

  public func outputShape(for input: Shape) throws -> Shape { Shape([input.count]) }

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    if UnsafePointer(y) != x { y.update(from: x, count: n * inputShape.count) }
  }

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    guard let dx, UnsafePointer(dx) != dy else { return }
    dx.update(from: dy, count: n * inputShape.count)
  }
}
