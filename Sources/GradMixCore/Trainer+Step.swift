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
    labels.withUnsafeMutableBufferPointer { sampler.next(input: workspace.input.baseAddress!, labels: $0.baseAddress!) }
    let logits = model.forward(workspace, batch: batch, parameters: parameters, mode: mode, rng: &rng)
    let loss = labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.loss(dLogits: workspace.dOutput.pointer, logits: logits.baseAddress!, labels: $0.baseAddress!,
                               weights: nil, mask: mask, batch: batch, classes: model.classCount)
    }
    gradient.zero()
    model.backward(workspace, batch: batch, parameters: parameters, gradients: gradient)
    return Double(loss)
  }

  /// One training step; every rank runs the same collectives in the same order.
  func step(_ t: Int) throws -> StepResult {
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
      let s = slot.index
      stats[present + s] = 1
      stats[lossAt + s] = loss
      let norms = timers.time(\.mixing) { mixer.layerSquaredNorms(slot.gradient) }
      let isFinite = loss.isFinite && norms.allSatisfy { $0.isFinite }
      stats[finite + s] = isFinite ? 1 : 0
      if isFinite && settings.needsTargetGradient {
        let dots = timers.time(\.mixing) { mixer.layerDots(targetGradient, slot.gradient) }
        for j in 0..<l { stats[s * l + j] = dots[j] }
      }
    }

    // 3. Every rank gets every rank's numbers (K×L + 3K + 2 doubles).
    if comm.worldSize > 1 {
      try timers.time(\.communication) { try stats.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) } }
    }
    let dots = (0..<k).map { s in Array(stats[(s * l)..<((s + 1) * l)]) }
    let isPresent = (0..<k).map { stats[present + $0] > 0 }
    let isFinite = (0..<k).map { stats[finite + $0] > 0 }
    let nonFinite = (0..<k).filter { isPresent[$0] && !isFinite[$0] }
    let active = (0..<k).map { isPresent[$0] && isFinite[$0] }
    let metaLoss: Double? = stats[meta + 1] > 0 ? stats[meta] : nil
    let losses: [Double?] = (0..<k).map { isPresent[$0] ? stats[lossAt + $0] : nil }

    // 4. Weights and learning-rate scale (identical on every rank).
    let weights = timers.time(\.mixing) { LayerWeighting.solve(dots: dots, active: active, rule: settings.rule) }
    let skip = settings.needsTargetGradient && !(metaLoss?.isFinite ?? false)
    let scale: Float = settings.adaptiveLearningRate && !skip ? alr.scale(usefulness: weights.usefulness) : 1
    let lr = schedule.rate(base: config.optimizer.lr, at: t) * scale
    if skip {
      return StepResult(weights: weights, losses: losses, metaLoss: metaLoss, learningRate: 0, scale: scale,
                        skipped: true, nonFinite: nonFinite)
    }

    // 5. Local weighted sum, then one allreduce of the whole flat buffer.
    timers.time(\.mixing) {
      mixed.zero()
      for slot in slots where active[slot.index] {
        mixer.accumulate(slot.gradient, weights: weights.weights[slot.index], into: mixed)
      }
    }
    if comm.worldSize > 1 {
      try timers.time(\.communication) { try comm.allreduceSum(inPlace: mixed.storage) }
    }

    // 6. The same SGD step on every rank.
    timers.time(\.update) {
      sgd.step(parameters: parameters, gradients: mixed, velocity: velocity, learningRate: lr)
    }
    for s in 0..<k { for j in 0..<l { weightSums[s][j] += Double(weights.weights[s][j]) } }
    weightSteps += 1
    return StepResult(weights: weights, losses: losses, metaLoss: metaLoss, learningRate: lr, scale: scale,
                      skipped: false, nonFinite: nonFinite)
  }
}
