import GradMixData
import GradMixEngine

extension Trainer {
  /// What one step did (every rank computes the same record).
  struct StepResult {
    var weights: MixingWeights
    var losses: [Double?]
    var metaLoss: Double?
    var learningRate: Float
    var scale: Float
    var skipped: Bool
    var nonFinite: [Int]
    /// Some rank received SIGINT/SIGTERM: stop after this step.
    var stopRequested = false
  }

  /// Whether source k takes part in step t (finetune switches halfway).
  func participates(_ info: SourceInfo, step t: Int) -> Bool {
    guard let switchStep = settings.switchStep else { return true }
    switch info.kind {
    case .configured: return t < switchStep
    case .target, .pseudo: return t >= switchStep
    }
  }

  /// Fills the workspace from `sampler`, runs forward and backward with
  /// `mask`, and leaves the gradient in `gradient`. Returns the loss.
  func computeGradient(_ sampler: BatchSampler, labels: inout [Int32], batch: Int, mask: ClassMask?, mode: Mode,
                       rng: inout RNG, into gradient: FlatBuffer) -> Double {
    let loss = forwardAndLoss(sampler, labels: &labels, batch: batch, mask: mask, mode: mode, rng: &rng)
    gradient.zero()
    model.backward(workspace, batch: batch, parameters: parameters, gradients: gradient)
    return loss
  }

  /// Fills the workspace with a batch from `sampler`, runs the forward pass
  /// and leaves dL/dlogits in the workspace. Returns the loss.
  func forwardAndLoss(_ sampler: BatchSampler, labels: inout [Int32], batch: Int, mask: ClassMask?, mode: Mode,
                      rng: inout RNG) -> Double {
    labels.withUnsafeMutableBufferPointer { sampler.next(input: workspace.input.baseAddress!, labels: $0.baseAddress!) }
    let logits = model.forward(workspace, batch: batch, parameters: parameters, mode: mode, rng: &rng)
    return Double(labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.loss(dLogits: workspace.dOutput.pointer, logits: logits.baseAddress!, labels: $0.baseAddress!,
                               weights: nil, mask: mask, batch: batch, classes: model.classCount)
    })
  }

  /// The gather protocol: every rank sends the gradients of its active
  /// sources (in source order) to the coordinator, which forms the mixed
  /// gradient over all sources in source order and broadcasts it.
  func gatherAndMix(weights: MixingWeights, active: [Bool]) throws {
    let p = model.layout.count
    let mine = slots.filter { active[$0.index] }
    // Every rank knows which sources are active and who owns them, so the counts agree.
    var counts = [Int](repeating: 0, count: comm.worldSize)
    for (k, info) in sources.enumerated() where active[k] { counts[info.owner] += p }
    if gatherSend.count < mine.count * p { gatherSend = FlatBuffer(count: mine.count * p) }
    for (j, slot) in mine.enumerated() {
      gatherSend.pointer.advanced(by: j * p).update(from: slot.gradient.pointer, count: p)
    }
    let total = counts.reduce(0, +)
    if isCoordinator && gatherReceive.count < total { gatherReceive = FlatBuffer(count: total) }
    try timers.time(\.communication) {
      try comm.gather(UnsafeBufferPointer(start: gatherSend.pointer, count: mine.count * p), counts: counts,
                      into: isCoordinator ? gatherReceive.storage : nil, root: 0)
    }
    if isCoordinator {
      timers.time(\.mixing) {
        mixed.zero()
        // Received rank by rank, each rank's sources in source order.
        var offset = [Int](repeating: 0, count: comm.worldSize)
        for r in 1..<comm.worldSize { offset[r] = offset[r - 1] + counts[r - 1] }
        for (k, info) in sources.enumerated() where active[k] {
          let g = gatherReceive.pointer + offset[info.owner]
          offset[info.owner] += p
          for (l, range) in model.layout.layerRanges.enumerated() where weights.weights[k][l] != 0 {
            BLAS.axpy(weights.weights[k][l], UnsafeBufferPointer(start: g + range.lowerBound, count: range.count),
                      mixed.slice(range))
          }
        }
      }
    }
    try timers.time(\.communication) { try comm.broadcast(mixed.storage, root: 0) }
  }

  /// Checks that every rank holds the same parameters (sum and sum of
  /// squares, compared bit for bit); throws if they have diverged.
  func checkAgreement(step t: Int) throws {
    guard comm.worldSize > 1 else { return }
    var sum = 0.0
    for i in 0..<parameters.count { sum += Double(parameters.storage[i]) }
    let mine = [sum, BLAS.dot(UnsafeBufferPointer(parameters.storage), UnsafeBufferPointer(parameters.storage))]
    var all = [Double](repeating: 0, count: 2 * comm.worldSize)
    try timers.time(\.communication) {
      try mine.withUnsafeBufferPointer { s in try all.withUnsafeMutableBufferPointer { try comm.allgather(s, into: $0) } }
    }
    for r in 1..<comm.worldSize where all[2 * r] != all[0] || all[2 * r + 1] != all[1] {
      throw TrainingError.diverged(step: t, rank: r, detail: "checksum \(all[2 * r]), \(all[2 * r + 1]) vs rank 0's \(all[0]), \(all[1])")
    }
  }

  /// Checks at start-up that every rank built the same model layout and the
  /// same list of sources (a very small version of Horovod's agreement).
  func checkLayout() throws {
    guard comm.worldSize > 1 else { return }
    let mine: [Int64] = [Int64(model.layout.count), Int64(bitPattern: model.layout.hash), Int64(sources.count)]
    var lo = mine, hi = mine
    try lo.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) }
    try hi.withUnsafeMutableBufferPointer { try comm.allreduceMax(inPlace: $0) }
    guard lo == hi else {
      throw TrainingError.layoutMismatch(detail: "parameter count, layout hash and source count range over \(lo) ... \(hi)")
    }
  }

  /// One training step; every rank runs the same collectives in the same order.
  func step(_ t: Int) throws -> StepResult {
    if options.overlap && settings.rule != .sourceWise && options.mixing == .allreduce { return try stepOverlapped(t) }
    let k = sources.count, l = layerCount
    for i in stats.indices { stats[i] = 0 }
    let present = k * l, finite = present + k, lossAt = finite + k, meta = lossAt + k

    // 1. The target (meta) gradient.
    if settings.needsTargetGradient {
      if let sampler = metaSampler {
        var unused = RNG(seed: 0)
        let loss = timers.time(\.targetGradient) {
          computeGradient(sampler, labels: &metaLabels, batch: metaBatch, mask: nil, mode: .eval, rng: &unused,
                          into: targetGradient)
        }
        if isCoordinator { stats[meta] = loss; stats[meta + 1] = 1 }
      }
      if comm.worldSize > 1 && options.targetGradient == .broadcast {
        try timers.time(\.communication) { try comm.broadcast(targetGradient.storage, root: 0) }
      }
    }

    // 2. This rank's sources: gradients, layer dot products with g_T, finiteness.
    for slot in slots {
      guard let sampler = slot.sampler, participates(slot.info, step: t) else { continue }
      let loss = timers.time(\.sourceGradients) {
        computeGradient(sampler, labels: &slot.labels, batch: slot.batchSize, mask: slot.mask, mode: .train,
                        rng: &slot.dropout, into: slot.gradient)
      }
      if let fault = options.injectNaN, fault.source == slot.info.name, fault.steps.contains(t) {
        slot.gradient.fill(.nan)
      }
      let s = slot.index
      stats[present + s] = 1
      stats[lossAt + s] = loss
      let norms = timers.time(\.mixing) { mixer.layerSquaredNorms(slot.gradient) }
      let isFinite = loss.isFinite && norms.allSatisfy { $0.isFinite }
      stats[finite + s] = isFinite ? 1 : 0
      if isFinite && settings.needsTargetGradient {
        let dots = timers.time(\.mixing) { mixer.layerDots(targetGradient, slot.gradient) }
        for j in 0..<l { stats[s * l + j] = weightScore(dot: dots[j], squaredNorm: norms[j]) }
      }
    }

    // 3. Every rank gets every rank's numbers; 4. weights identical on every rank.
    let (weights, isPresent, isFinite, active) = try exchangeStatsAndSolve()
    return try finishStep(t, weights: weights, present: isPresent, finite: isFinite, lossAt: lossAt, meta: meta) {
      // 5. Local weighted sum, then one allreduce of the whole flat buffer
      //    (or, with the gather protocol, the coordinator mixes everything).
      if options.mixing == .gather && comm.worldSize > 1 {
        try gatherAndMix(weights: weights, active: active)
      } else {
        try mixAndAllreduce(slots, weights: weights, active: active)
      }
    }
  }

  /// What a (source, layer) weight is proportional to before rectification:
  /// the dot product with the target gradient, or (`weight_score:
  /// source-norm`) that divided by the source gradient's norm.
  func weightScore(dot: Double, squaredNorm: Double) -> Double {
    config.weightScore == "source-norm" ? dot / max(squaredNorm.squareRoot(), 1e-30) : dot
  }

  /// Adds the stop request, allreduces the stats vector (K×L + 3K + 3
  /// doubles; each rank filled its own rows) and solves the weights.
  func exchangeStatsAndSolve() throws -> (MixingWeights, present: [Bool], finite: [Bool], active: [Bool]) {
    let k = sources.count, l = layerCount
    let present = k * l, finite = present + k, meta = finite + 2 * k
    if StopSignal.shared.isRequested { stats[meta + 2] = 1 }
    if comm.worldSize > 1 {
      try timers.time(\.communication) { try stats.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) } }
    }
    let dots = (0..<k).map { s in Array(stats[(s * l)..<((s + 1) * l)]) }
    let isPresent = (0..<k).map { stats[present + $0] > 0 }
    let isFinite = (0..<k).map { stats[finite + $0] > 0 }
    let active = (0..<k).map { isPresent[$0] && isFinite[$0] }
    let weights = timers.time(\.mixing) { LayerWeighting.solve(dots: dots, active: active, rule: settings.rule) }
    return (weights, isPresent, isFinite, active)
  }

  /// `mixed = Σ` of the active local sources' weighted gradients, then one allreduce of the flat buffer.
  func mixAndAllreduce(_ local: [SourceSlot], weights: MixingWeights, active: [Bool]) throws {
    timers.time(\.mixing) {
      mixed.zero()
      for slot in local where active[slot.index] {
        mixer.accumulate(slot.gradient, weights: weights.weights[slot.index], into: mixed)
      }
    }
    if comm.worldSize > 1 {
      try timers.time(\.communication) { try comm.allreduceSum(inPlace: mixed.storage) }
    }
  }

  /// The end of a step, after the stats exchange: the learning-rate scale,
  /// `mix()` (unless the step is skipped), the same SGD step on every rank,
  /// and the record.
  func finishStep(_ t: Int, weights: MixingWeights, present isPresent: [Bool], finite isFinite: [Bool], lossAt: Int,
                  meta: Int, mix: () throws -> Void) throws -> StepResult {
    let k = sources.count, l = layerCount
    let nonFinite = (0..<k).filter { isPresent[$0] && !isFinite[$0] }
    let active = (0..<k).map { isPresent[$0] && isFinite[$0] }
    let metaLoss: Double? = stats[meta + 1] > 0 ? stats[meta] : nil
    let stop = stats[meta + 2] > 0
    let losses: [Double?] = (0..<k).map { isPresent[$0] ? stats[lossAt + $0] : nil }
    let skip = settings.needsTargetGradient && !(metaLoss?.isFinite ?? false)
    let scale: Float = settings.adaptiveLearningRate && !skip ? alr.scale(usefulness: weights.usefulness) : 1
    let lr = schedule.rate(base: config.optimizer.lr, at: t) * scale
    if skip {
      return StepResult(weights: weights, losses: losses, metaLoss: metaLoss, learningRate: 0, scale: scale,
                        skipped: true, nonFinite: nonFinite, stopRequested: stop)
    }
    try mix()
    // 6. The same SGD step on every rank.
    timers.time(\.update) {
      sgd.step(parameters: parameters, gradients: mixed, velocity: velocity, learningRate: lr)
    }
    for s in 0..<k where active[s] {
      for j in 0..<l { weightSums[s][j] += Double(weights.weights[s][j]) }
      weightCounts[s] += 1
    }
    return StepResult(weights: weights, losses: losses, metaLoss: metaLoss, learningRate: lr, scale: scale,
                      skipped: false, nonFinite: nonFinite, stopRequested: stop)
  }
}
