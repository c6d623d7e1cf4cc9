import Foundation
import GradMixData
import GradMixEngine

/// Everything besides parameters and velocity that an exact resume needs,
/// stored as JSON in the checkpoint's sidecar (`extra["trainer_state"]`).
///
/// Source states are keyed by the global source index, so a run can resume
/// on a different number of ranks: each rank takes the states of the
/// sources it owns now.
struct TrainerState: Codable {
  struct Slot: Codable {
    var sampler: SamplerState?
    var dropout: RNG
  }
  struct Pseudo: Codable {
    var refreshes: Int
    var indices: [Int]
    var labels: [Int32]
    var accuracy: Double
  }
  var step: Int
  var alr: AdaptiveLearningRate
  var meta: SamplerState?
  var slots: [Int: Slot]
  var pseudo: Pseudo?
  var weightSums: [[Double]]
  var weightCounts: [Int]
  var nonFiniteSourceSteps: Int
  var skippedSteps: Int
  var lastEval: [Double]?
  /// The weighting rule's state (``WeightingRule/state``); absent in older checkpoints.
  var rule: [String: [Double]]?
  /// Λ̄_T, the target's smoothed label signature (``LabelSignature``), when the rule reads them.
  var targetSignature: [Float]?
  /// The divergence monitor's reference loss and bad-step count; absent in older checkpoints.
  var divergence: DivergenceMonitor?
}
