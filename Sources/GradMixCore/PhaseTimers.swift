import GradMixEngine

/// Seconds spent per phase of the training step on this rank.
struct PhaseTimers {
  var targetGradient = 0.0
  var sourceGradients = 0.0
  var mixing = 0.0
  var communication = 0.0
  var update = 0.0
  var evaluation = 0.0
  var pseudoLabelling = 0.0
  var stepSeconds: [Double] = []

  /// Runs `body`, adding its wall time to `keyPath`.
  @inline(__always)
  mutating func time<T>(_ keyPath: WritableKeyPath<PhaseTimers, Double>, _ body: () throws -> T) rethrows -> T {
    let start = monotonicSeconds()
    defer { self[keyPath: keyPath] += monotonicSeconds() - start }
    return try body()
  }

  var record: [String: Any] {
    [
      "target_gradient": targetGradient, "source_gradients": sourceGradients, "mixing": mixing,
      "communication": communication, "update": update, "evaluation": evaluation,
      "pseudo_labelling": pseudoLabelling,
      "median_step": stepSeconds.isEmpty ? 0 : median(stepSeconds),
    ]
  }
}
