import Foundation
import GradMixData
import GradMixEngine

extension Trainer {
  /// One training step; every rank runs the same collectives in the same order.
  ///
  /// - Parameter stopRequested: this rank was asked to stop (SIGINT/SIGTERM);
  ///   the request travels in the step statistics, so every rank stops after
  ///   the same step.
  func step(_ t: Int, stopRequested: Bool) throws -> StepResult {
    var stats = StepStatistics(sources: sources.count, layers: layerCount)
    stats.stopRequests = stopRequested ? 1 : 0
    let local = slots.filter { $0.sampler != nil && participates($0.info, step: t) }

    // 1. The target (meta) gradient, where this rank computes it.
    if settings.needsTargetGradient, let sampler = target.metaSampler {
      var unused = RNG(seed: 0)
      let loss = timers.time(\.targetGradient) {
        forwardAndLoss(
          sampler, labels: &target.metaLabels, batch: target.metaBatch, rows: 0..<target.metaBatch,
          mask: nil, mode: .eval, rng: &unused)
      }
      if let signature = targetSignature {
        collect(signature, labels: target.metaLabels, rows: target.metaBatch, batchSize: target.metaBatch)
        signature.finish()
      }
      timers.time(\.targetGradient) { backward(target.metaBatch, into: targetGradient) }
      if isCoordinator { stats.metaLoss = loss; stats.metaCount = 1 }
    }

    // 2. This rank's source gradients (they do not need g_T; the shards of a
    //    source summed in a group are summed there), then g_T shared and each
    //    (source, layer) measured against it where this rank reports it. A
    //    pipelining strategy gets g_T before the last backward pass and each
    //    layer as it finishes.
    let pipelined = strategy.pipelinesLayers ? local.last : nil
    // Choice: where this rank already holds g_T (it computed it, or the rule
    // needs none), each layer of each source is measured as soon as the
    // backward pass completes it, while it is still in cache (a source summed
    // in a group: once the sum is done). The same numbers as measuring after
    // the loop, in less time (README, "Mixing cost").
    let measuresEarly = !settings.needsTargetGradient || target.metaSampler != nil
    for slot in local {
      let loss = timers.time(\.sourceGradients) {
        forwardAndLoss(
          slot.sampler!, labels: &slot.labels, batch: slot.batchSize, rows: slot.rows, mask: slot.mask,
          mode: .train, rng: &slot.dropout)
      }
      if let signature = slot.signature {
        collect(signature, labels: slot.labels, rows: slot.rows.count, batchSize: slot.batchSize)
      }
      runningStatistics.collect(weight: Float(slot.fraction))
      stats.present[slot.index] = 1
      stats.losses[slot.index] = loss * slot.fraction
      if slot === pipelined {
        try shareTargetGradient()
        if !measuresEarly { for earlier in local where earlier !== slot { measure(earlier, into: &stats) } }
        try backwardMeasuring(slot, step: t, local: local, statistics: &stats, pipelined: true)
      } else if measuresEarly && slot.group == nil && slot.reports {
        try backwardMeasuring(slot, step: t, local: local, statistics: &stats, pipelined: false)
      } else {
        timers.time(\.sourceGradients) { backward(slot.rows.count, into: slot.gradient) }
        if slot.fraction != 1 { BLAS.scale(slot.gradient.storage, by: Float(slot.fraction)) }
        if injectsNaN(slot, step: t) { slot.gradient.fill(.nan) }
        try sumShards(slot)
        if measuresEarly && slot.reports { measure(slot, into: &stats) }  // the summed gradient
      }
    }
    if pipelined == nil {
      try shareTargetGradient()
      if !measuresEarly { for slot in local where slot.reports { measure(slot, into: &stats) } }
      if strategy.pipelinesLayers {  // no local source: take part in the per-layer exchanges
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
          try strategy.layerReady(l, statistics: stats, local: [], timers: &timers)
        }
      }
    }
    if targetSignature != nil {
      for slot in local where slot.reports { measureLabels(slot, into: &stats) }
    }
    for slot in local { finishMeasuring(slot, in: &stats) }
    try timers.time(\.communication) { try runningStatistics.update(comm) }
    if isCoordinator && settings.needsTargetGradient {
      stats.targetSquaredNorms = timers.time(\.mixing) { mixer.layerSquaredNorms(targetGradient) }
    }

    // 3. One exchange: every rank gets every rank's statistics.
    try timers.time(\.communication) { try stats.allreduce(comm) }

    // 4. The weights, identical on every rank.
    let active = stats.active
    let weights = timers.time(\.mixing) { rule.solve(stats, active: active) }

    // 5. The learning-rate scale (no step without a finite meta loss).
    let skip = settings.needsTargetGradient && !(stats.meta?.isFinite ?? false)
    let scale: Float = settings.adaptiveLearningRate && !skip ? alr.scale(usefulness: weights.usefulness) : 1
    let lr = skip ? 0 : schedule.rate(base: config.optimizer.lr, at: t) * scale

    // 6. The mix, and 7. the same SGD step on every rank.
    if !skip {
      try strategy.mix(weights, active: active, local: local.filter(\.reports), timers: &timers)
      timers.time(\.update) {
        if let ranges = updateRanges {  // model.freeze, optimizer.layer_lr
          sgd.step(parameters: parameters, gradients: mixed, velocity: velocity, learningRate: lr, ranges: ranges)
        } else {
          sgd.step(parameters: parameters, gradients: mixed, velocity: velocity, learningRate: lr)
        }
      }
    }
    return StepResult(
      weights: weights, active: active,
      losses: (0..<sources.count).map { stats.present[$0] > 0 ? stats.losses[$0] : nil },
      metaLoss: stats.meta, learningRate: lr, scale: scale, skipped: skip,
      nonFinite: stats.nonFinite, stopRequested: stats.stopRequests > 0, statistics: stats)
  }

  // MARK: - Parts of the step

  /// Whether source k takes part in step t (finetune switches halfway).
  func participates(_ info: SourceInfo, step t: Int) -> Bool {
    guard let switchStep = settings.switchStep else { return true }
    switch info.kind {
    case .configured: return t < switchStep
    case .target, .pseudo: return t >= switchStep
    }
  }

  /// Fills the workspace with the next batch from `sampler`, keeps its
  /// `rows` (a shard computes part of the batch; every shard draws the whole
  /// batch, so the shards of a source see the batch one process would),
  /// runs the forward pass and leaves dL/dlogits in the workspace.
  /// Returns the mean loss over `rows`.
  func forwardAndLoss(
    _ sampler: BatchSampler, labels: inout [Int32], batch: Int, rows: Range<Int>, mask: ClassMask?,
    mode: Mode, rng: inout RNG
  ) -> Double {
    labels.withUnsafeMutableBufferPointer { sampler.next(input: workspace.input.baseAddress!, labels: $0.baseAddress!) }
    if rows.lowerBound > 0 {
      let size = model.inputShape.count
      let input = workspace.input.baseAddress!
      memmove(input, input + rows.lowerBound * size, rows.count * size * MemoryLayout<Float>.stride)
      labels.withUnsafeMutableBufferPointer { l in
        for i in 0..<rows.count { l[i] = l[rows.lowerBound + i] }
      }
    }
    let n = rows.count
    let logits = model.forward(
      workspace, batch: n, parameters: parameters, state: runningStatistics.state, mode: mode,
      rng: &rng)
    return Double(
      labels.withUnsafeBufferPointer {
        SoftmaxCrossEntropy.loss(
          dLogits: workspace.dOutput.pointer, logits: logits.baseAddress!, labels: $0.baseAddress!,
          weights: nil, mask: mask, batch: n, classes: model.classCount)
      })
  }

  /// The backward pass of the last forward pass into a fresh `gradient`.
  func backward(_ batch: Int, into gradient: FlatBuffer, layerDone: ((Int) -> Void)? = nil) {
    gradient.zero()
    model.backward(workspace, batch: batch, parameters: parameters, gradients: gradient, layerDone: layerDone)
  }

  /// `slot`'s backward pass, each layer measured as soon as it is complete
  /// (while it is still in cache) and, if `pipelined` (the last local
  /// source of a pipelining strategy), handed to the strategy.
  func backwardMeasuring(
    _ slot: SourceSlot, step t: Int, local: [SourceSlot],
    statistics stats: inout StepStatistics, pipelined: Bool
  ) throws {
    precondition(slot.group == nil, "A source whose shards are summed is measured after the sum.")
    precondition(
      !pipelined || local.allSatisfy { $0.group == nil },
      "Pipelined mixing runs only while no shards are summed in groups.")
    // Timed by hand: the strategy's work inside the callback keeps its own timers.
    let start = monotonicSeconds()
    var inCallbacks = 0.0
    var failure: Error?
    var shared = stats
    backward(slot.rows.count, into: slot.gradient) { l in
      guard failure == nil, let l = self.mixIndex[l] else { return }  // l: the model's index, then the mix's
      let callbackStart = monotonicSeconds()
      defer { inCallbacks += monotonicSeconds() - callbackStart }
      let range = self.mixer.layout.layerRanges[l]
      if slot.fraction != 1 { BLAS.scale(slot.gradient.slice(range), by: Float(slot.fraction)) }
      if self.injectsNaN(slot, step: t) { slot.gradient.slice(range).update(repeating: .nan) }
      self.measure(slot, layer: l, into: &shared)
      guard pipelined else { return }
      do { try self.strategy.layerReady(l, statistics: shared, local: local, timers: &self.timers) } catch {
        failure = error
      }
    }
    timers.sourceGradients += monotonicSeconds() - start - inCallbacks
    stats = shared
    if let failure { throw failure }
  }

  /// Sums the shards of a source whose batch is split, inside the source's
  /// group, when the rule needs whole-source norms (``ShardGroups``): every
  /// member then holds the whole batch's mean gradient (each shard was
  /// scaled by its batch fraction). Nothing to do for other slots.
  func sumShards(_ slot: SourceSlot) throws {
    guard let group = slot.group else { return }
    try timers.time(\.communication) {
      for span in mixer.layout.spans { try group.allreduceSum(inPlace: slot.gradient.slice(span)) }
      if let signature = slot.signature {
        try signature.storage.withUnsafeMutableBufferPointer { try group.allreduceSum(inPlace: $0) }
      }
    }
  }

  /// Forms the groups of ``ShardGroups/summed`` (one `split` per summed
  /// source, a collective of every rank), once, before the first step.
  func formShardGroups() throws {
    for k in groups.summed {
      let group = try comm.split(color: groups.color(source: k, rank: comm.rank), key: comm.rank)
      for slot in slots where slot.index == k { slot.group = group }
    }
  }

  /// Shares g_T (and Λ_T): the coordinator broadcasts them (unless every
  /// rank recomputes them); then every rank moves Λ̄_T on by this step's Λ_T.
  func shareTargetGradient() throws {
    guard settings.needsTargetGradient else { return }
    if comm.worldSize > 1 && options.targetGradient == .broadcast {
      try timers.time(\.communication) {
        for span in mixer.layout.spans { try comm.broadcast(targetGradient.slice(span), root: 0) }
        if let signature = targetSignature {
          try signature.storage.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: 0) }
        }
      }
    }
    if let signature = targetSignature { timers.time(\.mixing) { signature.smooth() } }
  }

  /// ‖g_k,l‖² and ⟨g_T,l, g_k,l⟩ of every layer of `slot`.
  func measure(_ slot: SourceSlot, into stats: inout StepStatistics) {
    for l in 0..<layerCount { measure(slot, layer: l, into: &stats) }
  }

  /// ‖g_k,l‖² and, if finite and the rule uses g_T, ⟨g_T,l, g_k,l⟩ (each once per step).
  func measure(_ slot: SourceSlot, layer l: Int, into stats: inout StepStatistics) {
    let g = UnsafeBufferPointer(slot.gradient.slice(mixer.layout.layerRanges[l]))
    let s = slot.index
    timers.time(\.mixing) {
      guard settings.needsTargetGradient else {
        stats.sourceSquaredNorms[s][l] = BLAS.squaredNorm(g)
        return
      }
      // One pass over g and g_T for both numbers (BLAS+NormAndDot).
      let (norm, dot) = BLAS.squaredNormAndDot(
        g, UnsafeBufferPointer(targetGradient.slice(mixer.layout.layerRanges[l])))
      stats.sourceSquaredNorms[s][l] = norm
      if norm.isFinite && stats.losses[s].isFinite { stats.dots[s][l] = dot }
    }
  }

  /// The label signature's sums of this slot's batch from the classifier
  /// layer's input of the last forward pass (``LabelSignature``).
  func collect(_ signature: LabelSignature, labels: [Int32], rows: Int, batchSize: Int) {
    let features = workspace.layerInput(model.layers.count - 1)
    timers.time(\.mixing) {
      labels.withUnsafeBufferPointer {
        signature.collect(features: features.baseAddress!, labels: $0.baseAddress!, rows: rows, batchSize: batchSize)
      }
    }
  }

  /// The label score of `slot`'s (whole, group-summed) batch against Λ̄_T
  /// (every rank holds the same Λ̄_T); 0 if it is not finite (the source's
  /// gradient is then non-finite too and the source inactive).
  func measureLabels(_ slot: SourceSlot, into stats: inout StepStatistics) {
    guard let signature = slot.signature, let t = targetSignature, settings.needsTargetGradient else { return }
    timers.time(\.mixing) {
      signature.finish()
      let x = signature.cosine(against: t), m = signature.match(against: t)
      stats.labelScores[slot.index] = x.isFinite ? x : 0
      stats.labelMatches[slot.index] = m.isFinite ? m : 0
    }
  }

  /// Marks `slot` finite (loss and every layer) or clears its measurements.
  /// A shard that does not report (its group's first rank measures the
  /// summed gradient, non-finite if any shard's is) vouches for its loss only.
  func finishMeasuring(_ slot: SourceSlot, in stats: inout StepStatistics) {
    let s = slot.index
    if stats.losses[s].isFinite && (!slot.reports || stats.sourceSquaredNorms[s].allSatisfy({ $0.isFinite })) {
      stats.finite[s] = 1
    } else {
      stats.dots[s] = [Double](repeating: 0, count: layerCount)
      stats.sourceSquaredNorms[s] = stats.dots[s]
      stats.labelScores[s] = 0
      stats.labelMatches[s] = 0
    }
  }

  /// Test aid (`--inject-nan`): whether `slot`'s gradient is made NaN in step t.
  func injectsNaN(_ slot: SourceSlot, step t: Int) -> Bool {
    guard let fault = options.injectNaN else { return false }
    return fault.source == slot.info.name && fault.steps.contains(t)
  }
}
