import Foundation

/// How the learning rate changes over training: `rate(at:)` multiplies the
/// base rate by a factor that depends on the step (0-based).
public enum LearningRateSchedule: Equatable, Sendable, Codable, CustomStringConvertible {
  /// The base rate throughout.
  case constant
  /// Multiply by `gamma` every `every` steps (`factor = gamma^(step / every)`).
  case step(every: Int, gamma: Float)
  /// Linear warm-up over `warmup` steps, then a half cosine from 1 down to
  /// `minFactor` at step `total`:
  /// `factor = minFactor + (1 − minFactor)(1 + cos(π t))/2`,
  /// t = (step − warmup)/(total − warmup) clipped to [0, 1].
  case cosine(total: Int, warmup: Int, minFactor: Float)

  /// The factor applied to the base rate at `step`.
  public func factor(at step: Int) -> Float {
    switch self {
    case .constant:
      return 1
    case .step(let every, let gamma):
      precondition(every > 0, "A step schedule needs a positive interval, got \(every).")
      return powf(gamma, Float(step / every))
    case .cosine(let total, let warmup, let minFactor):
      if warmup > 0 && step < warmup { return Float(step + 1) / Float(warmup) }
      let span = max(total - warmup, 1)
      let t = min(max(Float(step - warmup) / Float(span), 0), 1)
      return minFactor + (1 - minFactor) * (1 + cosf(Float.pi * t)) / 2
    }
  }

  /// `base * factor(at: step)`.
  public func rate(base: Float, at step: Int) -> Float { base * factor(at: step) }

  public var description: String {
    switch self {
    case .constant: return "constant"
    case .step(let e, let g): return "step(every: \(e), gamma: \(g))"
    case .cosine(let t, let w, let m): return "cosine(total: \(t), warmup: \(w), min: \(m))"
    }
  }
}
