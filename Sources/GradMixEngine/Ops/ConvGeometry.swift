/// Sizes of one 2-D convolution or pooling window sweep over an NCHW input.
///
/// Legend used in the engine's shape comments: N = batch, C = input channels,
/// H, W = input height and width, OC = output channels, KH, KW = kernel,
/// OH, OW = output height and width, OHW = OH * OW, CKK = C * KH * KW.
public struct ConvGeometry: Equatable, Sendable {
  public let channels: Int, height: Int, width: Int
  public let kernelH: Int, kernelW: Int
  public let stride: Int, padding: Int
  public let outH: Int, outW: Int

  /// Returns nil when the window does not fit the (padded) input.
  public init?(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, stride: Int, padding: Int) {
    guard channels > 0, kernelH > 0, kernelW > 0, stride > 0, padding >= 0 else { return nil }
    let oh = (height + 2 * padding - kernelH) / stride + 1
    let ow = (width + 2 * padding - kernelW) / stride + 1
    guard height + 2 * padding >= kernelH, width + 2 * padding >= kernelW, oh > 0, ow > 0 else { return nil }
    self.channels = channels; self.height = height; self.width = width
    self.kernelH = kernelH; self.kernelW = kernelW
    self.stride = stride; self.padding = padding
    self.outH = oh; self.outW = ow
  }

  public var outPlane: Int { outH * outW }
  public var inPlane: Int { height * width }
  /// Rows of the im2col matrix: C * KH * KW.
  public var patch: Int { channels * kernelH * kernelW }
}
