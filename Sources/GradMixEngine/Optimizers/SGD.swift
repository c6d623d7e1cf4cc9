/// Stochastic gradient descent with momentum and (coupled) weight decay,
/// PyTorch's formulation:
///
///     d = g + λθ;   v ← μv + d;   θ ← θ − η v
///
/// (with `nesterov`, θ ← θ − η (d + μv)). One loop over the flat buffers,
/// as llm.c's `gpt2_update`. The velocity buffer starts at zero, which gives
/// v = d on the first step as PyTorch does.
///
/// References: Sutskever et al., "On the importance of initialization and
/// momentum in deep learning", ICML 2013.
public struct SGD: Equatable, Sendable, Codable {
  public var momentum: Float
  public var weightDecay: Float
  public var nesterov: Bool

  public init(momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false) {
    precondition(momentum >= 0 && momentum < 1, "Momentum must be in [0, 1), got \(momentum).")
    precondition(weightDecay >= 0, "Weight decay must be non-negative, got \(weightDecay).")
    self.momentum = momentum; self.weightDecay = weightDecay; self.nesterov = nesterov
  }

  /// Applies one step with learning rate `learningRate` to every parameter.
  public func step(parameters: FlatBuffer, gradients: FlatBuffer, velocity: FlatBuffer, learningRate: Float) {
    precondition(
      parameters.count == gradients.count && parameters.count == velocity.count,
      "SGD needs equally long buffers, got parameters \(parameters.count), gradients \(gradients.count), velocity \(velocity.count)."
    )
    update(
      0..<parameters.count, parameters: parameters, gradients: gradients, velocity: velocity, learningRate: learningRate
    )
  }

  /// Applies one step to the given ranges only, each with its own learning
  /// rate `learningRate · multiplier` (`optimizer.layer_lr`); parameters
  /// and velocity outside the ranges are not touched (`model.freeze`). With
  /// every multiplier 1 a range gets exactly the bits of ``step(parameters:gradients:velocity:learningRate:)``.
  public func step(
    parameters: FlatBuffer, gradients: FlatBuffer, velocity: FlatBuffer, learningRate: Float,
    ranges: [(range: Range<Int>, multiplier: Float)]
  ) {
    precondition(
      parameters.count == gradients.count && parameters.count == velocity.count,
      "SGD needs equally long buffers, got parameters \(parameters.count), gradients \(gradients.count), velocity \(velocity.count)."
    )
    for (range, multiplier) in ranges {
      precondition(range.lowerBound >= 0 && range.upperBound <= parameters.count, "Range \(range) outside the buffer.")
      update(
        range, parameters: parameters, gradients: gradients, velocity: velocity,
        learningRate: learningRate * multiplier)
    }
  }

  private func update(
    _ range: Range<Int>, parameters: FlatBuffer, gradients: FlatBuffer, velocity: FlatBuffer, learningRate: Float
  ) {
    let p = parameters.pointer, g = gradients.pointer, v = velocity.pointer
    let mu = momentum, wd = weightDecay, lr = learningRate
    // Elementwise, so split over the engine's threads with the same bits at any count.
    let nesterov = nesterov, base = range.lowerBound
    BLAS.parallelRanges(range.count) { part in
      let chunk = (base + part.lowerBound)..<(base + part.upperBound)
      if nesterov {
        for j in chunk {
          let d = g[j] + wd * p[j]
          let vj = mu * v[j] + d
          v[j] = vj
          p[j] -= lr * (d + mu * vj)
        }
      } else {
        for j in chunk {
          let vj = mu * v[j] + g[j] + wd * p[j]
          v[j] = vj
          p[j] -= lr * vj
        }
      }
    }
  }
}
