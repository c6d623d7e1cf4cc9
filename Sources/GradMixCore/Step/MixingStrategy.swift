import GradMixDistributed
import GradMixEngine

/// How the weighted local gradients become the mixed gradient on every rank:
/// the part of the step that varies with `--comm`, chosen once at start-up
/// (as PyTorch DDP's communication hooks share one bucket interface,
/// `torch/distributed/algorithms/ddp_comm_hooks/`).
///
/// The step calls ``mix(_:active:local:target:into:timers:)`` once, after the
/// weights are solved; every rank makes the same call. The strategy keeps no
/// reference to the step's buffers: it reads `local` and `target` and writes
/// `mixed`, which the step passes in.
public protocol MixingStrategy: AnyObject {
  /// Writes `Σ_k w_k ⊙ g_k (+ c ⊙ g_T)` over every rank's active sources into
  /// `mixed` on every rank.
  /// - Parameters:
  ///   - local: this rank's reporting sources (or shards), in source order.
  ///   - target: g_T where this rank adds the target term c ⊙ g_T (the
  ///     coordinator), nil elsewhere.
  func mix(
    _ weights: MixingWeights, active: [Bool], local: [LocalGradient], target: FlatBuffer?,
    into mixed: FlatBuffer, timers: inout PhaseTimers) throws
}

extension GradientMixer {
  /// `mixed = Σ` of the active local sources' weighted gradients, plus
  /// `c_l · g_T,l` when `target` is given (the coordinator's share).
  func mixLocal(
    _ local: [LocalGradient], weights: MixingWeights, active: [Bool], target: FlatBuffer?,
    into mixed: FlatBuffer
  ) {
    mixed.zero()
    for g in local where active[g.source] {
      accumulate(g.gradient, weights: weights.weights[g.source], into: mixed)
    }
    if let target, let c = weights.targetCoefficients { accumulate(target, weights: c, into: mixed) }
  }
}
