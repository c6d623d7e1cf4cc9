import GradMixData
import GradMixDistributed
import GradMixEngine

extension Trainer {
  /// One training step with layer-wise pipelined mixing (`--overlap`).
  ///
  /// The weight of layer l depends only on layer l's gradients, so while the
  /// last local source's backward pass goes on to earlier layers, layer l is
  /// already mixed: its K dot products are allreduced, its weights solved and
  /// the allreduce of its slice of the mixed gradient started (non-blocking).
  /// After the backward pass the requests are awaited and the usual stats
  /// allreduce checks that every source was finite in every layer; if a
  /// source turned out non-finite in a layer differentiated later, the step
  /// is mixed again without it, so the result equals the non-overlapped step.
  func stepOverlapped(_ t: Int) throws -> StepResult {
    let k = sources.count, l = layerCount
    // 1. The target gradient, exactly as in the plain step.
    var metaLoss = 0.0, hasMeta = false
    if settings.needsTargetGradient {
      if let sampler = metaSampler {
        var unused = RNG(seed: 0)
        metaLoss = timers.time(\.targetGradient) {
          computeGradient(sampler, labels: &metaLabels, batch: metaBatch, mask: nil, mode: .eval, rng: &unused,
                          into: targetGradient)
        }
        hasMeta = isCoordinator
      }
      if comm.worldSize > 1 && options.targetGradient == .broadcast {
        try timers.time(\.communication) { try comm.broadcast(targetGradient.storage, root: 0) }
      }
    }
    // 2. Every local source but the last completely; the last one's backward pass is pipelined.
    let local = slots.filter { $0.sampler != nil && participates($0.info, step: t) }
    var losses = [Double](repeating: 0, count: k)
    var lossFinite = [Bool](repeating: true, count: k)
    var layerNorms = [[Double]](repeating: [Double](repeating: 0, count: l), count: k)  // ‖g_k,l‖², from mixLayer
    var requests: [CommunicationRequest] = []
    var layerWeights = [[Float]](repeating: [Float](repeating: 0, count: l), count: k)
    mixed.zero()

    func mixLayer(_ j: Int) throws {
      var v = [Double](repeating: 0, count: 3 * k)  // dots, present, finite for layer j
      for slot in local {
        let s = slot.index
        let r = model.layout.layerRanges[j]
        let norm = timers.time(\.mixing) {
          BLAS.dot(UnsafeBufferPointer(slot.gradient.slice(r)), UnsafeBufferPointer(slot.gradient.slice(r)))
        }
        layerNorms[s][j] = norm
        v[k + s] = 1
        let ok = lossFinite[s] && norm.isFinite
        v[2 * k + s] = ok ? 1 : 0
        if ok {
          let dot = timers.time(\.mixing) {
            BLAS.dot(UnsafeBufferPointer(targetGradient.slice(r)), UnsafeBufferPointer(slot.gradient.slice(r)))
          }
          v[s] = weightScore(dot: dot, squaredNorm: norm)
        }
      }
      if comm.worldSize > 1 {
        try timers.time(\.communication) { try v.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) } }
      }
      let active = (0..<k).map { v[k + $0] > 0 && v[2 * k + $0] > 0 }
      let w = LayerWeighting.solve(dots: (0..<k).map { [v[$0]] }, active: active, rule: settings.rule)
      let range = model.layout.layerRanges[j]
      timers.time(\.mixing) {
        for slot in local where active[slot.index] && w.weights[slot.index][0] != 0 {
          layerWeights[slot.index][j] = w.weights[slot.index][0]
          BLAS.axpy(w.weights[slot.index][0], UnsafeBufferPointer(slot.gradient.slice(range)), mixed.slice(range))
        }
      }
      if comm.worldSize > 1 {
        let slice = mixed.slice(range)
        requests.append(try timers.time(\.communication) { try comm.startAllreduceSum(inPlace: slice) })
      }
    }

    var pipelineError: Error?
    for (n, slot) in local.enumerated() {
      guard let sampler = slot.sampler else { continue }
      let last = n == local.count - 1
      let loss = timers.time(\.sourceGradients) {
        forwardAndLoss(sampler, labels: &slot.labels, batch: slot.batchSize, mask: slot.mask, mode: .train,
                       rng: &slot.dropout)
      }
      losses[slot.index] = loss
      lossFinite[slot.index] = loss.isFinite
      // Timed by hand: the pipelined mixing inside the callback keeps its own timers.
      let backwardStart = monotonicSeconds()
      var inCallbacks = 0.0
      slot.gradient.zero()
      model.backward(workspace, batch: slot.batchSize, parameters: parameters, gradients: slot.gradient,
                     layerDone: last ? { j in
                       guard pipelineError == nil else { return }
                       let callbackStart = monotonicSeconds()
                       defer { inCallbacks += monotonicSeconds() - callbackStart }
                       if let fault = self.options.injectNaN, fault.source == slot.info.name, fault.steps.contains(t) {
                         slot.gradient.slice(self.model.layout.layerRanges[j]).update(repeating: .nan)
                       }
                       do { try mixLayer(j) } catch { pipelineError = error }
                     } : nil)
      timers.sourceGradients += monotonicSeconds() - backwardStart - inCallbacks
      if !last, let fault = options.injectNaN, fault.source == slot.info.name, fault.steps.contains(t) {
        slot.gradient.fill(.nan)
      }
    }
    if local.isEmpty {
      for j in stride(from: l - 1, through: 0, by: -1) { try mixLayer(j) }
    }
    if let pipelineError { throw pipelineError }
    for r in requests { try timers.time(\.communication) { try r.wait() } }

    // 3. The usual stats exchange: losses, whole-gradient finiteness, all dot products.
    for i in stats.indices { stats[i] = 0 }
    let present = k * l, finite = present + k, lossAt = finite + k, meta = lossAt + k
    for slot in local {
      let s = slot.index
      stats[present + s] = 1
      stats[lossAt + s] = losses[s]
      let ok = lossFinite[s] && layerNorms[s].allSatisfy { $0.isFinite }
      stats[finite + s] = ok ? 1 : 0
      if ok {
        let dots = timers.time(\.mixing) { mixer.layerDots(targetGradient, slot.gradient) }
        for j in 0..<l { stats[s * l + j] = weightScore(dot: dots[j], squaredNorm: layerNorms[s][j]) }
      }
    }
    if hasMeta { stats[meta] = metaLoss; stats[meta + 1] = 1 }
    let (weights, isPresent, isFinite, active) = try exchangeStatsAndSolve()
    // A source found non-finite only in a later layer was mixed into earlier ones: mix again without it.
    let pipelinedWeights = (0..<k).map { s in layerWeights[s] }
    let localMatches = local.allSatisfy { pipelinedWeights[$0.index] == weights.weights[$0.index] }
    var agree: [Int64] = [localMatches ? 1 : 0]
    if comm.worldSize > 1 { try agree.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) } }
    if agree[0] == 0 { try mixAndAllreduce(local, weights: weights, active: active) }
    return try finishStep(t, weights: weights, present: isPresent, finite: isFinite, lossAt: lossAt, meta: meta) {}
  }
}
