import GradMixDistributed
import GradMixEngine

/// How the weighted local gradients become the mixed gradient on every rank:
/// the part of the step that varies with `--comm` and `--overlap`, chosen
/// once at start-up (as PyTorch DDP's communication hooks share one bucket
/// interface, `torch/distributed/algorithms/ddp_comm_hooks/`).
///
/// The step calls ``layerReady(_:statistics:local:timers:)`` for every layer
/// (last first) during the last local backward pass when
/// ``pipelinesLayers`` is set, then ``mix(_:active:local:timers:)`` once
/// after the weights are solved. Every rank makes the same calls.
protocol MixingStrategy: AnyObject {
  /// Whether the strategy starts work layer by layer during the backward pass.
  var pipelinesLayers: Bool { get }
  /// Layer `l` of every local source is final and measured in `statistics`
  /// (this rank's part, not yet exchanged).
  func layerReady(_ l: Int, statistics: StepStatistics, local: [SourceSlot], timers: inout PhaseTimers) throws
  /// Leaves `Σ_k w_k ⊙ g_k (+ c ⊙ g_T)` over every rank's sources in the mixed buffer of every rank.
  func mix(_ weights: MixingWeights, active: [Bool], local: [SourceSlot], timers: inout PhaseTimers) throws
}

extension MixingStrategy {
  var pipelinesLayers: Bool { false }
  func layerReady(_ l: Int, statistics: StepStatistics, local: [SourceSlot], timers: inout PhaseTimers) throws {}
}

extension GradientMixer {
  /// `mixed = Σ` of the active local sources' weighted gradients, plus
  /// `c_l · g_T,l` when `target` is given (the coordinator's share).
  func mixLocal(
    _ local: [SourceSlot], weights: MixingWeights, active: [Bool], target: FlatBuffer?,
    into mixed: FlatBuffer
  ) {
    mixed.zero()
    for slot in local where active[slot.index] {
      accumulate(slot.gradient, weights: weights.weights[slot.index], into: mixed)
    }
    if let target, let c = weights.targetCoefficients { accumulate(target, weights: c, into: mixed) }
  }
}
