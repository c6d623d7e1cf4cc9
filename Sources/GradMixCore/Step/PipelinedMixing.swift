import GradMixDistributed
import GradMixEngine

/// Layer-wise pipelined mixing (`--overlap`): while the last local source's
/// backward pass goes on to earlier layers, layer l is already mixed.
///
/// For a layer-separable rule (``WeightingRule/isLayerSeparable``) layer l's
/// weights depend only on layer l's statistics, so as soon as layer l's
/// gradients exist this rank allreduces layer l's statistics (a small
/// ``StepStatistics`` with L = 1), solves layer l's weights, adds its sources'
/// weighted layer-l slices into the mixed buffer and starts a non-blocking
/// allreduce of that slice. The statistics of each (source, layer) are
/// measured once, by the step, and reused by the step's one exchange.
///
/// A source whose gradient turns out non-finite only in a layer
/// differentiated later was mixed into the earlier-finished layers: the
/// per-layer weights then differ from the step's weights, which every rank
/// sees alike (all ranks hold the same per-layer and step statistics), and
/// every rank mixes again with the plain allreduce, with no extra agreement
/// collective. So the result equals the plain step's, bit for bit in one
/// process (each element adds the same terms in the same order).
final class PipelinedMixing: MixingStrategy {
  let comm: Communicator
  let mixer: GradientMixer
  let mixed: FlatBuffer
  let targetGradient: FlatBuffer
  let rule: any WeightingRule
  let fallback: AllreduceMixing
  private var layerWeights: [[Float]] = []
  private var layerCoefficients: [Float?] = []
  private var requests: [CommunicationRequest] = []

  init(comm: Communicator, mixer: GradientMixer, mixed: FlatBuffer, targetGradient: FlatBuffer, rule: any WeightingRule)
  {
    precondition(rule.isLayerSeparable, "Pipelined mixing needs a layer-separable weighting rule.")
    self.comm = comm; self.mixer = mixer; self.mixed = mixed; self.targetGradient = targetGradient; self.rule = rule
    fallback = AllreduceMixing(comm: comm, mixer: mixer, mixed: mixed, targetGradient: targetGradient)
  }

  var pipelinesLayers: Bool { true }

  func layerReady(_ l: Int, statistics: StepStatistics, local: [SourceSlot], timers: inout PhaseTimers) throws {
    let layers = mixer.layout.layerCount
    if l == layers - 1 {  // the first layer of the step
      mixed.zero()
      layerWeights = [[Float]](repeating: [Float](repeating: 0, count: layers), count: statistics.sourceCount)
      layerCoefficients = [Float?](repeating: nil, count: layers)
      requests = []
    }
    var v = statistics.layer(l)
    try timers.time(\.communication) { try v.allreduce(comm) }
    var solver = rule  // layer-separable rules keep no state; a copy solves one layer
    let active = v.active
    let w = timers.time(\.mixing) { solver.solve(v, active: active) }
    let range = mixer.layout.layerRanges[l]
    timers.time(\.mixing) {
      for k in 0..<statistics.sourceCount { layerWeights[k][l] = w.weights[k][0] }
      for slot in local where active[slot.index] && w.weights[slot.index][0] != 0 {
        BLAS.axpy(w.weights[slot.index][0], UnsafeBufferPointer(slot.gradient.slice(range)), mixed.slice(range))
      }
      layerCoefficients[l] = w.targetCoefficients?[0]
      if comm.rank == 0, let c = w.targetCoefficients?[0], c != 0 {
        BLAS.axpy(c, UnsafeBufferPointer(targetGradient.slice(range)), mixed.slice(range))
      }
    }
    if comm.worldSize > 1 {
      let slice = mixed.slice(range)
      requests.append(try timers.time(\.communication) { try comm.startAllreduceSum(inPlace: slice) })
    }
    if l == 0 {  // the backward pass is over: nothing left to overlap with
      for r in requests { try timers.time(\.communication) { try r.wait() } }
      requests = []
    }
  }

  func mix(_ weights: MixingWeights, active: [Bool], local: [SourceSlot], timers: inout PhaseTimers) throws {
    let coefficients =
      weights.targetCoefficients.map { $0.map(Optional.some) }
      ?? [Float?](repeating: nil, count: mixer.layout.layerCount)
    let sameCoefficients = zip(coefficients, layerCoefficients).allSatisfy { ($0 ?? 0) == ($1 ?? 0) }
    if layerWeights != weights.weights || !sameCoefficients {
      try fallback.mix(weights, active: active, local: local, timers: &timers)
    }
  }
}
