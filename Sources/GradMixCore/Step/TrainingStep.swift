import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// One GradMix step on one rank (Li et al., WACV 2020, Sec. 3; docs/DESIGN.md,
/// "One training step across ranks"), and the buffers it works in.
///
/// ``run(_:stopRequested:)`` reads top to bottom: the target (meta) gradient
/// g_T where this rank computes it; this rank's source gradients; g_T shared;
/// every (source, layer) measured against it, at one point and in one way;
/// one allreduce of the ``StepStatistics``; the weights from the
/// ``WeightingRule``; the learning rate; the mix, written by the
/// ``MixingStrategy`` into ``mixed``; the same SGD step on every rank.
/// Built once by ``TrainingSetup``; the run loop is ``Trainer``.
final class TrainingStep {
  let comm: Communicator
  let options: RunOptions
  let settings: Method.Settings
  let model: TrainingModel
  /// Every rank's number of sources (the statistics have a row for each).
  let sourceCount: Int
  /// Over the trainable layers only (``ParameterLayout/restricted(to:)``): the
  /// statistics, weights and mix of a step never see a frozen layer.
  let mixer: GradientMixer
  /// g_T: computed by the coordinator (every rank with `--target-gradient recompute`), then shared.
  let targetGradient: FlatBuffer
  /// The meta batch's label signature Λ_T, when the rule reads them (``LabelSignature``).
  let targetSignature: LabelSignature?
  /// The mixed gradient: the strategy writes it, SGD reads it.
  let mixed: FlatBuffer
  /// This rank's sources (or shards), in source order.
  let slots: [SourceSlot]
  /// The meta batches (and, for the run loop, the rest of the target data).
  let target: TargetData
  var rule: any WeightingRule
  let strategy: any MixingStrategy
  var update: ParameterUpdate
  var timers = PhaseTimers()

  init(
    comm: Communicator, options: RunOptions, settings: Method.Settings, model: TrainingModel,
    sourceCount: Int, mixer: GradientMixer, targetSignature: LabelSignature?, slots: [SourceSlot],
    target: TargetData, rule: any WeightingRule, strategy: any MixingStrategy, update: ParameterUpdate
  ) {
    self.comm = comm; self.options = options; self.settings = settings; self.model = model
    self.sourceCount = sourceCount; self.mixer = mixer; self.targetSignature = targetSignature
    self.slots = slots; self.target = target; self.rule = rule; self.strategy = strategy; self.update = update
    targetGradient = model.network.makeBuffer()
    mixed = model.network.makeBuffer()
  }

  var isCoordinator: Bool { comm.rank == 0 }
  /// The number of layers the step mixes (the trainable ones).
  var layerCount: Int { mixer.layout.layerCount }

  /// One training step; every rank runs the same collectives in the same order.
  ///
  /// - Parameter stopRequested: this rank was asked to stop (SIGINT/SIGTERM);
  ///   the request travels in the step statistics, so every rank stops after
  ///   the same step.
  func run(_ t: Int, stopRequested: Bool) throws -> StepResult {
    let classes = rule.usesClassCosines ? targetSignature?.classes ?? 0 : 0
    var stats = StepStatistics(sources: sourceCount, layers: layerCount, classes: classes)
    stats.stopRequests = stopRequested ? 1 : 0
    let local = slots.filter { $0.sampler != nil && participates($0.info, step: t) }

    // 1. The target (meta) gradient g_T, where this rank computes it.
    if settings.needsTargetGradient, let sampler = target.metaSampler {
      let loss = computeTargetGradient(sampler)
      if isCoordinator { stats.metaLoss = loss; stats.metaCount = 1 }
    }

    // 2. This rank's source gradients: they do not need g_T, so workers compute them while rank 0
    //    computes g_T. Each is final after its shard scaling and, for a source summed in a group,
    //    the group's sum.
    for slot in local {
      stats.losses[slot.index] = try sourceGradient(slot, step: t) * slot.fraction
      stats.present[slot.index] = 1
    }

    // 3. g_T (and Λ_T) shared; then every reported (source, layer) measured against it, here and
    //    only here (Choice: one measuring point for every method and protocol).
    try shareTargetGradient()
    for slot in local where slot.reports {
      measure(slot, into: &stats)
      measureLabels(slot, into: &stats)
    }
    for slot in local { finishMeasuring(slot, in: &stats) }
    try timers.time(\.communication) { try model.runningStatistics.update(comm) }
    if isCoordinator && settings.needsTargetGradient {
      stats.targetSquaredNorms = timers.time(\.mixing) { mixer.layerSquaredNorms(targetGradient) }
      if let signature = targetSignature, classes > 0 {
        stats.targetClasses = timers.time(\.mixing) { signature.targetClasses() }
      }
    }

    // 4. One exchange: every rank gets every rank's statistics.
    try timers.time(\.communication) { try stats.allreduce(comm) }

    // 5. The weights, identical on every rank.
    let active = stats.active
    let weights = timers.time(\.mixing) { rule.solve(stats, active: active) }

    // 6. The learning rate (no step without a finite meta loss).
    let skip = settings.needsTargetGradient && !(stats.meta?.isFinite ?? false)
    let scale: Float = settings.adaptiveLearningRate && !skip ? update.alr.scale(usefulness: weights.usefulness) : 1
    let lr = skip ? 0 : update.rate(at: t) * scale

    // 7. The mix, written into `mixed` on every rank, and 8. the same SGD step on every rank.
    if !skip {
      try strategy.mix(
        weights, active: active, local: local.filter(\.reports).map(\.localGradient),
        target: isCoordinator ? targetGradient : nil, into: mixed, timers: &timers)
      timers.time(\.update) { update.apply(to: model.parameters, gradients: mixed, learningRate: lr) }
    }
    return StepResult(
      weights: weights, active: active,
      losses: (0..<sourceCount).map { stats.present[$0] > 0 ? stats.losses[$0] : nil },
      metaLoss: stats.meta, learningRate: lr, scale: scale, skipped: skip,
      nonFinite: stats.nonFinite, stopRequested: stats.stopRequests > 0, statistics: stats)
  }
}
