// Legend: N = batch, C = input channels, OC = output channels, H, W = input
// size, OH, OW = output size; O = OC*OH*OW and I = C*H*W per sample.

/// A basic residual block (He et al. 2016, torchvision's `BasicBlock`):
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, where conv1 is
/// 3x3 with stride S and padding 1, conv2 3x3 with padding 1 (both without
/// bias), and the shortcut is the identity when the shape is unchanged,
/// else `downsample` = 1x1 conv with stride S (no bias) + BatchNorm.
///
/// Parameters, in PyTorch's state-dict order and names: `conv1.weight`,
/// `bn1.weight`, `bn1.bias`, `conv2.weight`, `bn2.weight`, `bn2.bias`, and
/// with a projection `downsample.0.weight`, `downsample.1.weight`,
/// `downsample.1.bias`. Model state: each BatchNorm's `running_mean`,
/// `running_var`, `num_batches_tracked` (`bn1.*`, `bn2.*`, `downsample.1.*`).
///
/// The block is made of ``Conv2D`` and ``BatchNorm`` values and runs their
/// passes in turn; its scratch holds the inner activations and the BatchNorm
/// caches between forward and backward, the temporaries of the backward
/// pass, and one convolution scratch area that the three convolutions share
/// (a convolution keeps nothing in it between its passes).
public struct ResidualBlock: Layer {
  public let outChannels: Int
  public let stride: Int
  public let token: String
  let conv1: Conv2D, bn1: BatchNorm, conv2: Conv2D, bn2: BatchNorm
  /// The projection shortcut (nil: identity).
  let downsample: (conv: Conv2D, bn: BatchNorm)?

  /// A block over a [C, H, W] `input`: like its convolutions, a block takes
  /// the one input size it is made for.
  ///
  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` when `input`
  ///   is not [C, H, W] or too small for the strided 3x3 convolution.
  public init(input: Shape, outChannels: Int, stride: Int = 1, token: String? = nil, workers: Int? = nil) throws {
    precondition(
      outChannels > 0 && stride > 0,
      "A residual block needs positive channels and stride, got out \(outChannels), stride \(stride).")
    let token = token ?? "res\(outChannels)" + (stride != 1 ? "s\(stride)" : "")
    guard input.rank == 3 else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "a residual block needs a [C, H, W] input")
    }
    self.outChannels = outChannels; self.stride = stride; self.token = token
    conv1 = try Conv2D(
      input: input, outChannels: outChannels, kernelSize: 3, stride: stride, padding: 1,
      hasBias: false, workers: workers)
    bn1 = BatchNorm(channels: outChannels, fusedReLU: true)
    conv2 = try Conv2D(
      input: conv1.outputShape, outChannels: outChannels, kernelSize: 3, padding: 1, hasBias: false,
      workers: workers)
    bn2 = BatchNorm(channels: outChannels)
    if stride != 1 || input.dims[0] != outChannels {
      downsample = (
        try Conv2D(
          input: input, outChannels: outChannels, kernelSize: 1, stride: stride,
          hasBias: false, workers: workers),
        BatchNorm(channels: outChannels)
      )
    } else {
      downsample = nil
    }
  }

  public var inChannels: Int { conv1.inChannels }
  /// The [C, H, W] input the block was made for.
  public var inputShape: Shape { conv1.inputShape }
  /// The [OC, OH, OW] output for ``inputShape``.
  public var outputShape: Shape { conv1.outputShape }

  /// The sub-layers with their tensor-name prefixes, in storage order.
  var parts: [(prefix: String, layer: any Layer)] {
    var p: [(String, any Layer)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
    if let d = downsample { p += [("downsample.0", d.conv), ("downsample.1", d.bn)] }
    return p
  }

  public var parameterShapes: [ParameterShape] {
    parts.flatMap { part in
      part.layer.parameterShapes.map { ParameterShape("\(part.prefix).\($0.name)", $0.shape, fill: $0.fill) }
    }
  }

  public var stateShapes: [ParameterShape] {
    parts.flatMap { part in
      part.layer.stateShapes.map { ParameterShape("\(part.prefix).\($0.name)", $0.shape, fill: $0.fill) }
    }
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input == inputShape else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "the block was made for \(inputShape)")
    }
    return outputShape
  }

  // MARK: - Layout of parameters, state and scratch

  /// Offsets of each sub-layer's parameters: conv1, bn1, conv2, bn2, (conv, bn of the shortcut).
  var parameterOffsets: [Int] {
    var offsets: [Int] = [], o = 0
    for part in parts { offsets.append(o); o += part.layer.parameterCount }
    return offsets
  }

  /// Where the cached and temporary buffers live in the scratch area.
  struct Regions {
    var a1 = 0, h1 = 0, a2 = 0, ad = 0, sd = 0, t2 = 0, t3 = 0
    var bnCache: [Int] = []  // bn1, bn2, shortcut bn
    var conv = 0
    var total = 0
  }

  func regions(batch n: Int) -> Regions {
    let input = inputShape, out = outputShape
    let o = n * out.count
    var r = Regions(), at = 0
    func take(_ count: Int) -> Int { defer { at += count }; return at }
    r.a1 = take(o); r.h1 = take(o); r.a2 = take(o)
    r.t2 = take(o); r.t3 = take(o)
    if downsample != nil { r.ad = take(o); r.sd = take(o) }
    let cache = bn1.scratchCount(input: out, batch: n)
    r.bnCache = [take(cache), take(cache), take(downsample != nil ? cache : 0)]
    r.conv = take(
      max(
        conv1.scratchCount(input: input, batch: n), conv2.scratchCount(input: out, batch: n),
        downsample?.conv.scratchCount(input: input, batch: n) ?? 0))
    r.total = at
    return r
  }

  public func scratchCount(input: Shape, batch: Int) -> Int { regions(batch: batch).total }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let r = regions(batch: n), p = parameterOffsets, s = scratch, out = outputShape
    let bnState = bn1.stateCount
    conv1.forward(
      output: s + r.a1, input: x, parameters: parameters + p[0], scratch: s + r.conv,
      inputShape: inputShape, batch: n, mode: mode, rng: &rng)
    bn1.forward(
      output: s + r.h1, input: s + r.a1, parameters: parameters + p[1], state: state,
      scratch: s + r.bnCache[0], inputShape: out, batch: n, mode: mode, rng: &rng)
    conv2.forward(
      output: s + r.a2, input: s + r.h1, parameters: parameters + p[2], scratch: s + r.conv,
      inputShape: out, batch: n, mode: mode, rng: &rng)
    let shortcut: UnsafePointer<Float>
    if let d = downsample {
      d.conv.forward(
        output: s + r.ad, input: x, parameters: parameters + p[4], scratch: s + r.conv,
        inputShape: inputShape, batch: n, mode: mode, rng: &rng)
      d.bn.forward(
        output: s + r.sd, input: s + r.ad, parameters: parameters + p[5], state: state + 2 * bnState,
        scratch: s + r.bnCache[2], inputShape: out, batch: n, mode: mode, rng: &rng)
      shortcut = UnsafePointer(s + r.sd)
    } else {
      shortcut = x
    }
    // y = relu(bn2(a2) + shortcut) in bn2's one pass over the output.
    bn2.forward(
      output: y, input: s + r.a2, residual: shortcut, parameters: parameters + p[3], state: state + bnState,
      scratch: s + r.bnCache[1], inputShape: out, batch: n, mode: mode)
  }

  // MARK: - Backward

  /// dz = dy masked by the final ReLU; back through bn2, conv2, bn1, conv1
  /// into dx; then the shortcut: dx += dz (identity) or dx += the
  /// projection's input gradient of dz. dz is never stored: bn2 and the
  /// shortcut's BatchNorm take dy with the block output as their mask, the
  /// identity adds dy masked, and the projection adds its dX into dx.
  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let r = regions(batch: n), p = parameterOffsets, s = scratch, out = outputShape
    bn2.backward(
      dInput: s + r.t2, dParameters: dParameters.map { $0 + p[3] }, dOutput: dy, mask: y, input: s + r.a2,
      parameters: parameters + p[3], scratch: s + r.bnCache[1], inputShape: out, batch: n)
    conv2.backward(
      dInput: s + r.t3, dParameters: dParameters.map { $0 + p[2] }, dOutput: s + r.t2, input: s + r.h1,
      output: s + r.a2, parameters: parameters + p[2], scratch: s + r.conv, inputShape: out, batch: n)
    bn1.backward(
      dInput: s + r.t2, dParameters: dParameters.map { $0 + p[1] }, dOutput: s + r.t3, input: s + r.a1,
      output: s + r.h1, parameters: parameters + p[1], scratch: s + r.bnCache[0], inputShape: out, batch: n)
    conv1.backward(
      dInput: dx, dParameters: dParameters.map { $0 + p[0] }, dOutput: s + r.t2, input: x, output: s + r.a1,
      parameters: parameters + p[0], scratch: s + r.conv, inputShape: inputShape, batch: n)
    if let d = downsample {
      d.bn.backward(
        dInput: s + r.t2, dParameters: dParameters.map { $0 + p[5] }, dOutput: dy, mask: y, input: s + r.ad,
        parameters: parameters + p[5], scratch: s + r.bnCache[2], inputShape: out, batch: n)
      d.conv.backward(
        dInput: dx, accumulate: true, dParameters: dParameters.map { $0 + p[4] }, dOutput: s + r.t2,
        input: x, output: s + r.ad, parameters: parameters + p[4], scratch: s + r.conv,
        inputShape: inputShape, batch: n)
    } else if let dx {
      let perSample = out.count
      BLAS.parallelFor(n) { i in
        addMaskedFloats(dx + i * perSample, dy + i * perSample, mask: y + i * perSample, perSample)
      }
    }
  }
}
