// Legend: N = batch, C = channels (or features), P = H*W (1 for features),
// M = N*P values per channel.

/// Batch normalisation (Ioffe & Szegedy 2015) over the channels of a
/// [C, H, W] input (PyTorch's `BatchNorm2d`) or the features of an [F]
/// input (`BatchNorm1d`), with PyTorch's defaults: eps 1e-5, momentum 0.1,
/// affine.
///
/// Parameters: `weight` (γ, starts at 1) and `bias` (β, starts at 0), [C].
/// Model state: `running_mean` [C] (starts at 0), `running_var` [C] (starts
/// at 1) and `num_batches_tracked` [] (a count, stored as a float).
///
/// `.train`: normalises by the batch mean and biased variance over the M
/// values of each channel, and updates the running statistics as PyTorch
/// does: `running = 0.9·running + 0.1·batch`, with the *unbiased* variance
/// (×M/(M−1); for M = 1, where PyTorch refuses to train, the biased one) and
/// `num_batches_tracked += 1`. `.eval`: normalises by the running
/// statistics and leaves them alone.
///
/// Scratch (the cache kept for backward): the mean and 1/sqrt(var + eps)
/// used, [C] each, and the mode (1 = batch statistics). Backward recomputes
/// x̂ = (x − mean)·invstd from the input rather than storing it.
/// With `fusedReLU` the output is `max(bn(x), 0)` (set by `Sequential` when a
/// `relu` follows; one pass over memory instead of two).
public struct BatchNorm: Layer {
  public let channels: Int
  public let fusedReLU: Bool
  public let token: String
  public static let epsilon: Float = 1e-5
  public static let momentum: Float = 0.1

  public init(channels: Int, fusedReLU: Bool = false, token: String? = nil) {
    precondition(channels > 0, "BatchNorm needs a positive channel count, got \(channels).")
    self.channels = channels; self.fusedReLU = fusedReLU
    self.token = token ?? (fusedReLU ? "bn+relu" : "bn")
  }

  public var parameterShapes: [ParameterShape] {
    [ParameterShape("weight", [channels], fill: .one), ParameterShape("bias", [channels], fill: .zero)]
  }

  public var stateShapes: [ParameterShape] {
    [
      ParameterShape("running_mean", [channels], fill: .zero), ParameterShape("running_var", [channels], fill: .one),
      ParameterShape("num_batches_tracked", [], fill: .zero),
    ]
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input.rank == 1 || input.rank == 3 else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "batch norm needs a [C, H, W] or [F] input")
    }
    guard input.dims[0] == channels else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "expected \(channels) channels")
    }
    return input
  }

  public func scratchCount(input: Shape, batch: Int) -> Int { 2 * channels + 1 }

  /// Values per sample and channel (H*W, or 1 for features).
  func plane(_ input: Shape) -> Int {
    precondition(input.dims[0] == channels, "\(token) expects \(channels) channels, got input \(input).")
    return input.count / channels
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    forward(
      output: y, input: x, residual: nil, parameters: parameters, state: state, scratch: scratch,
      inputShape: inputShape, batch: n, mode: mode)
  }

  /// The forward pass; with `residual` the output is `max(bn(x) + residual, 0)`
  /// (a residual block's bn2, its shortcut and final ReLU in the one pass
  /// that writes the block's output; the same operations in the same order
  /// as applying bn2 and then adding the shortcut).
  func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
    parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode
  ) {
    let c = channels, p = plane(inputShape), m = n * p, relu = fusedReLU
    let gamma = parameters, beta = parameters + c  // [C]
    let runningMean = state, runningVar = state + c  // [C]
    let mean = scratch, invstd = scratch + c  // [C]
    let train = mode == .train
    scratch[2 * c] = train ? 1 : 0
    BLAS.parallelFor(c) { ch in
      var mu: Float, variance: Float
      if train {
        var s = 0.0
        for i in 0..<n { s += Double(sumFloats(x + (i * c + ch) * p, p)) }
        mu = Float(s / Double(m))
        var q = 0.0
        for i in 0..<n { q += Double(sumSquaredDeviations(x + (i * c + ch) * p, p, mean: mu)) }
        variance = Float(q / Double(m))
        let unbiased = m > 1 ? Float(q / Double(m - 1)) : variance
        runningMean[ch] = (1 - BatchNorm.momentum) * runningMean[ch] + BatchNorm.momentum * mu
        runningVar[ch] = (1 - BatchNorm.momentum) * runningVar[ch] + BatchNorm.momentum * unbiased
      } else {
        mu = runningMean[ch]; variance = runningVar[ch]
      }
      let r = 1 / (variance + BatchNorm.epsilon).squareRoot()
      mean[ch] = mu; invstd[ch] = r
      let a = gamma[ch] * r, b = beta[ch] - mu * a
      for i in 0..<n {
        let o = (i * c + ch) * p
        if let residual {
          affineAddReLUFloats(y + o, x + o, residual + o, p, scale: a, shift: b)
        } else {
          affineFloats(y + o, x + o, p, scale: a, shift: b, relu: relu)
        }
      }
    }
    if train { state[2 * c] += 1 }
  }

  // MARK: - Backward

  /// dβ += Σ g, dγ += Σ g·x̂ and, with batch statistics,
  /// dx = γ·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M); with running statistics
  /// dx = γ·invstd·g (g = dy, masked by the fused ReLU).
  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    backward(
      dInput: dx, dParameters: dParameters, dOutput: dy, mask: fusedReLU ? y : nil, input: x,
      parameters: parameters, scratch: scratch, inputShape: inputShape, batch: n)
  }

  /// The backward pass with g = dy masked by `mask > 0` (nil: g = dy). A
  /// residual block passes its output as the mask of bn2 and of the
  /// shortcut's BatchNorm, so the final ReLU's masked gradient is never
  /// stored (one write and one read of a block output fewer per step).
  func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, mask: UnsafePointer<Float>?, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch n: Int
  ) {
    let c = channels, p = plane(inputShape), m = Float(n * p)
    let gamma = parameters
    let mean = scratch, invstd = scratch + c
    let train = scratch[2 * c] != 0
    BLAS.parallelFor(c) { ch in
      var sg = 0.0, sgx = 0.0
      for i in 0..<n {
        let o = (i * c + ch) * p
        let (s, sx) = gradientSums(dy + o, x + o, mask: mask.map { $0 + o }, p)
        sg += Double(s); sgx += Double(sx)
      }
      let mu = mean[ch], r = invstd[ch]
      // Σ g·x̂ = r·(Σ g·x − mu·Σ g)
      let sumGXhat = Float(Double(r) * (sgx - Double(mu) * sg)), sumG = Float(sg)
      if let dGamma = dParameters {  // nil for a frozen layer
        dGamma[ch] += sumGXhat
        dGamma[c + ch] += sumG  // dβ
      }
      guard let dx else { return }
      let a = gamma[ch] * r
      var b: Float = 0, k: Float = 0
      if train {
        // dx = a·g − a·sumG/M − a·r·(x − mu)·sumGXhat/M
        b = -a * r * sumGXhat / m
        k = -a * sumG / m - b * mu
      }
      for i in 0..<n {
        let o = (i * c + ch) * p
        batchNormInputGradient(dx + o, dy + o, x + o, mask: mask.map { $0 + o }, p, a: a, b: b, c: k)
      }
    }
  }
}
