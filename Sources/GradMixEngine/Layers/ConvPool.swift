// Legend: N = batch, C = input channels, OC = output channels, OHW = the
// convolution's output plane, PHW = the pooled plane (PH*PW).

/// A convolution with its ReLU and the max pooling after it, as one layer:
/// `conv<C>k<K>-relu-pool<P>` of a model spec.
///
/// The convolution's output [N, OC, OH, OW] is never stored. Forward pools
/// each chunk's product [OC, B*OHW] (one image's [OC, OHW] where the
/// convolution's forward takes the row GEMM; bias and ReLU added in place)
/// while it is still in cache and writes only the pooled output [N, OC, PH, PW] and
/// the argmax indices. Backward builds the chunk's masked dYᵀ [OC, B*OHW]
/// for the convolution's GEMMs directly from the pooled dY: zeros, then dY
/// at each argmax where the window's maximum is > 0 (the ReLU's mask).
/// Both are the values the separate layers compute (the same products, the
/// same maxima and indices, the same sums), so results are bit for bit those
/// of `Conv2D` + `MaxPool2D`; what goes is the convolution's output, written
/// and read back in forward, and the pooling's dX, written, read back and
/// masked against that output in backward (for the digit CNN's first
/// convolution 4.7 MB each at batch 64). Choice: measured in
/// results/screens/2026-12-05-engine-profile.md.
public struct ConvPool: StatelessLayer {
  /// The convolution, with `fusedReLU`.
  public let conv: Conv2D
  /// The pooling window over the convolution's output.
  public let window: PoolingWindow
  public let token: String

  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` when the
  ///   pooling window does not fit the convolution's output.
  public init(conv: Conv2D, poolKernel: Int, poolStride: Int? = nil, poolToken: String? = nil) throws {
    precondition(conv.fusedReLU, "ConvPool pools a convolution with its ReLU fused (\(conv.token)).")
    precondition(
      !conv.backwardMayUseRowGemm,
      "ConvPool fuses only convolutions whose backward pass has no row GEMM (\(conv.token)).")
    self.conv = conv
    window = try PoolingWindow(
      name: "pool", kernelSize: poolKernel, stride: poolStride, input: conv.outputShape, token: poolToken)
    token = conv.token + "+" + window.token
  }

  public var parameterShapes: [ParameterShape] { conv.parameterShapes }

  public func outputShape(for input: Shape) throws -> Shape {
    _ = try conv.outputShape(for: input)
    let g = window.geometry
    return Shape([g.channels, g.outH, g.outW])
  }

  /// Floats of the argmax indices [N, OC, PHW] (Int32 in Float slots),
  /// rounded up to 16 so the convolution's scratch after them stays aligned.
  func argmaxCount(batch n: Int) -> Int { (n * window.geometry.channels * window.geometry.outPlane + 15) / 16 * 16 }

  /// The argmax indices, then the convolution's scratch.
  public func scratchCount(input: Shape, batch: Int) -> Int {
    argmaxCount(batch: batch) + conv.scratchCount(input: input, batch: batch)
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let pg = window.geometry, oc = conv.outChannels, ohw = conv.geometry.outPlane
    let php = pg.outPlane
    let argmax = UnsafeMutableRawPointer(scratch).bindMemory(to: Int32.self, capacity: n * oc * php)
    let bias: UnsafePointer<Float>? = conv.hasBias ? parameters + oc * conv.geometry.patch : nil  // [OC]
    // product [OC, B*OHW] -> y [N, OC, PHW]: bias and ReLU in place per plane, then pooled.
    conv.forward(
      output: y, input: x, parameters: parameters, scratch: scratch + argmaxCount(batch: n), batch: n
    ) { product, ld, first, b in
      for i in 0..<b {
        for o in 0..<oc {
          let plane = product + o * ld + i * ohw
          let bo = bias?[o] ?? 0
          for j in 0..<ohw { plane[j] = max(plane[j] + bo, 0) }
          let at = ((first + i) * oc + o) * php
          MaxPool2D.pool(y + at, argmax + at, plane, pg)
        }
      }
    }
  }

  // MARK: - Backward

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let pg = window.geometry, oc = conv.outChannels, ohw = conv.geometry.outPlane
    let php = pg.outPlane
    let argmax = UnsafeMutableRawPointer(scratch).bindMemory(to: Int32.self, capacity: n * oc * php)
    // dY [N, OC, PHW] -> the chunk's dYᵀ [OC, B*OHW], masked by the pooled maxima y > 0.
    conv.backward(
      dInput: dx, accumulate: false, dParameters: dParameters, dOutput: dy, input: x, output: y,
      parameters: parameters, scratch: scratch + argmaxCount(batch: n), inputShape: inputShape, batch: n
    ) { gathered, ld, first, b in
      for i in 0..<b {
        for o in 0..<oc {
          let plane = gathered + o * ld + i * ohw
          zeroFloats(plane, ohw)
          let at = ((first + i) * oc + o) * php
          MaxPool2D.maskedScatter(plane, dy + at, argmax + at, mask: y + at, php)
        }
      }
    }
  }
}
