/// What max and average pooling share: a square `kernelSize` window moved by
/// `stride` with no padding, over a [C, H, W] input.
protocol WindowPooling: StatelessLayer {
  var kernelSize: Int { get }
  var stride: Int { get }
  var token: String { get }
}

extension WindowPooling {
  /// The window's geometry on `input`, or nil when the input is not [C, H, W].
  func geometry(_ input: Shape) -> ConvGeometry? {
    guard input.rank == 3 else { return nil }
    return ConvGeometry(
      channels: input.dims[0], height: input.dims[1], width: input.dims[2],
      kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: 0)
  }

  /// The geometry of a shape that ``outputShape(for:)`` has accepted.
  func checkedGeometry(_ input: Shape) -> ConvGeometry {
    guard let g = geometry(input) else { preconditionFailure("\(token) cannot take input \(input).") }
    return g
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard let g = geometry(input) else {
      throw ModelSpecError.doesNotFit(
        layer: token, input: input,
        reason: input.rank == 3 ? "the window is larger than the input" : "pooling needs a [C, H, W] input")
    }
    return Shape([g.channels, g.outH, g.outW])
  }
}
