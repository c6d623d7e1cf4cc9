/// The window of a pooling layer: a square `kernelSize` window moved by
/// `stride` with no padding over the one [C, H, W] input the layer is made
/// for, checked once when it is made.
public struct PoolingWindow: Equatable, Sendable {
  public let kernelSize: Int
  public let stride: Int
  /// The layer's model-spec token, e.g. `pool2` or `avgpool3s2`.
  public let token: String
  /// The sweep over the input.
  public let geometry: ConvGeometry

  /// A window of `kernelSize` moved by `stride` (default: `kernelSize`) over
  /// `input`; `name` starts the default token (`pool`, `avgpool`).
  ///
  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` when `input`
  ///   is not [C, H, W] or the window is larger than it.
  init(name: String, kernelSize: Int, stride: Int?, input: Shape, token: String?) throws {
    precondition(
      kernelSize > 0 && (stride ?? 1) > 0,
      "The pooling window size and stride must be greater than 0, got \(kernelSize) and \(stride ?? kernelSize).")
    let stride = stride ?? kernelSize
    let token = token ?? name + "\(kernelSize)" + (stride != kernelSize ? "s\(stride)" : "")
    guard input.rank == 3 else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "pooling needs a [C, H, W] input")
    }
    guard
      let g = ConvGeometry(
        channels: input.dims[0], height: input.dims[1], width: input.dims[2],
        kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: 0)
    else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "the window is larger than the input")
    }
    self.kernelSize = kernelSize; self.stride = stride; self.token = token; self.geometry = g
  }

  /// The [C, H, W] input the window was made for.
  public var inputShape: Shape { Shape([geometry.channels, geometry.height, geometry.width]) }
}
