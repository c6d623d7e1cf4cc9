/// What max and average pooling share: a ``PoolingWindow`` over the one
/// [C, H, W] input the layer is made for.
protocol WindowPooling: ParameterlessLayer {
  var window: PoolingWindow { get }
}

extension WindowPooling {
  public var kernelSize: Int { window.kernelSize }
  public var stride: Int { window.stride }
  public var token: String { window.token }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input == window.inputShape else {
      throw ModelSpecError.doesNotFit(
        layer: token, input: input, reason: "the layer was made for \(window.inputShape)")
    }
    let g = window.geometry
    return Shape([g.channels, g.outH, g.outW])
  }
}
