/// The adaptive learning rate of GradMix: the step's learning rate is scaled
/// by how useful this mini-batch is to the target compared with the recent
/// past.
///
/// Choice (the paper is vague here, see docs/DESIGN.md): with u_t the
/// step's usefulness (Σ_{k,l} max(d_{k,l}, 0), the first-order predicted
/// decrease of the target loss per unit step before normalisation) and ū an
/// exponential moving average of the previous steps' u,
///
///     scale_t = clip(u_t / ū_{t−1}, minScale, maxScale),   ū_t = β ū_{t−1} + (1 − β) u_t
///
/// with ū initialised to the first step's u (whose scale is 1). Comparing with
/// a running average, not an absolute level, makes the rule independent of
/// the gradients' magnitude, which shrinks as training converges; clipping
/// keeps one lucky or unlucky batch from taking a huge step or stalling.
public struct AdaptiveLearningRate: Codable, Equatable, Sendable {
  public var beta: Double
  public var minScale: Double
  public var maxScale: Double
  /// ū, or nil before the first step.
  public private(set) var average: Double?

  public init(beta: Double = 0.9, minScale: Double = 0.5, maxScale: Double = 2) {
    precondition(beta >= 0 && beta < 1, "The moving-average factor must be in [0, 1), got \(beta).")
    precondition(
      minScale > 0 && minScale <= 1 && maxScale >= 1,
      "The scale range must contain 1 and be positive, got [\(minScale), \(maxScale)].")
    self.beta = beta; self.minScale = minScale; self.maxScale = maxScale
  }

  /// Returns this step's scale for usefulness `u` and folds `u` into the average.
  public mutating func scale(usefulness u: Double) -> Float {
    guard u.isFinite, u >= 0 else { return 1 }
    guard let avg = average, avg > 0 else {
      average = u
      return 1
    }
    let s = min(max(u / avg, minScale), maxScale)
    average = beta * avg + (1 - beta) * u
    return Float(s)
  }
}
