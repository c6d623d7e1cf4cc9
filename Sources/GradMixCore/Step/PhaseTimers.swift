import GradMixEngine

/// Seconds spent per phase of the training step on this rank.
public struct PhaseTimers: Equatable {
  var targetGradient = 0.0
  var sourceGradients = 0.0
  var mixing = 0.0
  /// Seconds inside collectives moving and reducing bytes (with the
  /// instrumentation on; without it, waiting is included here).
  var communication = 0.0
  /// Seconds waiting for other ranks to arrive at a collective (the timed
  /// barrier of ``InstrumentedCommunicator``).
  var waiting = 0.0
  var update = 0.0
  var evaluation = 0.0
  var pseudoLabelling = 0.0

  public init() {}

  /// Runs `body`, adding its wall time to `keyPath`.
  @inline(__always)
  mutating func time<T>(_ keyPath: WritableKeyPath<PhaseTimers, Double>, _ body: () throws -> T) rethrows -> T {
    let start = monotonicSeconds()
    defer { self[keyPath: keyPath] += monotonicSeconds() - start }
    return try body()
  }

  static let names = [
    "target_gradient", "source_gradients", "mixing", "communication", "waiting", "update",
    "evaluation", "pseudo_labelling",
  ]
  var values: [Double] {
    [targetGradient, sourceGradients, mixing, communication, waiting, update, evaluation, pseudoLabelling]
  }

  /// `self − earlier`, phase by phase (one step's share).
  func since(_ earlier: PhaseTimers) -> [Double] { zip(values, earlier.values).map { $0 - $1 } }

  var record: [String: Double] { Dictionary(uniqueKeysWithValues: zip(PhaseTimers.names, values)) }
}

/// Per-step timings of this rank, for medians in summary.json and the trace.
struct StepTimeline {
  /// Wall seconds of each step, of its collectives, and of each phase.
  var stepSeconds: [Double] = []
  var communicationSeconds: [Double] = []
  var phaseSeconds: [[Double]] = []

  mutating func append(step: Double, communication: Double, phases: [Double]) {
    stepSeconds.append(step)
    communicationSeconds.append(communication)
    phaseSeconds.append(phases)
  }

  /// Median seconds per step, overall and per phase.
  var medians: [String: Double] {
    guard !stepSeconds.isEmpty else { return [:] }
    var out: [String: Double] = ["step": median(stepSeconds)]
    guard !phaseSeconds.isEmpty else { return out }  // instrumentation off: step times only
    out["collectives"] = median(communicationSeconds)
    for (i, name) in PhaseTimers.names.enumerated() { out[name] = median(phaseSeconds.map { $0[i] }) }
    return out
  }
}
