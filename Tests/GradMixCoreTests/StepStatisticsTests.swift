import GradMixDistributed
import GradMixEngine
import Testing

@testable import GradMixCore

@Suite("Step statistics, weighting rules and mixing strategies")
struct StepStatisticsTests {
  /// Statistics whose every field holds a distinct value.
  static func distinct(sources k: Int, layers l: Int, classes c: Int = 2) -> StepStatistics {
    var s = StepStatistics(sources: k, layers: l, classes: c)
    var v = 1.0
    func next() -> Double { defer { v += 1 }; return v }
    for a in 0..<k { for b in 0..<l { s.dots[a][b] = next() } }
    for a in 0..<k { for b in 0..<l { s.sourceSquaredNorms[a][b] = next() } }
    for b in 0..<l { s.targetSquaredNorms[b] = next() }
    for a in 0..<k { s.present[a] = next(); s.finite[a] = next(); s.losses[a] = next() }
    for a in 0..<k { s.labelScores[a] = next() }
    s.metaLoss = next(); s.metaCount = next(); s.stopRequests = next()
    for a in 0..<k { for b in 0..<(c * c) { s.classCosines[a][b] = next() } }
    for a in 0..<k { for b in 0..<c { s.classPresence[a][b] = next() } }
    for b in 0..<c { s.targetClasses[b] = next() }
    return s
  }

  @Test("pack and unpack round-trip every field; the packed size is 2KL + L + 4K + 3 + KC² + KC + C")
  func roundTrip() {
    let s = Self.distinct(sources: 3, layers: 4)
    #expect(s.packedCount == 2 * 3 * 4 + 4 + 4 * 3 + 3 + 3 * 4 + 3 * 2 + 2)
    var buffer = [Double](repeating: 0, count: s.packedCount)
    buffer.withUnsafeMutableBufferPointer { s.pack(into: $0) }
    #expect(Set(buffer).count == buffer.count, "every field must land in its own slot")
    let back = buffer.withUnsafeBufferPointer { StepStatistics(sources: 3, layers: 4, classes: 2, unpacking: $0) }
    #expect(back == s)
  }

  @Test("a source is active when every shard computed a finite gradient")
  func activity() {
    var s = StepStatistics(sources: 4, layers: 1)
    s.present = [2, 2, 0, 1]
    s.finite = [2, 1, 0, 1]
    #expect(s.active == [true, false, false, true])
    #expect(s.nonFinite == [1])
    #expect(s.meta == nil)
    s.metaCount = 1; s.metaLoss = 0.5
    #expect(s.meta == 0.5)
  }

  @Test("the built-in rules equal LayerWeighting on the dot products", arguments: WeightingScheme.allCases)
  func builtInRules(_ scheme: WeightingScheme) {
    var s = StepStatistics(sources: 3, layers: 2)
    s.dots = [[4, -1], [2, 3], [-1, 2]]
    var rule = DotProductWeighting(scheme: scheme)
    let active = [true, true, false]
    #expect(rule.solve(s, active: active) == LayerWeighting.solve(dots: s.dots, active: active, rule: scheme))
    #expect(!rule.needsWholeSourceNorms && rule.state.isEmpty)
  }

  // MARK: - Strategies

  /// A two-layer model and two local sources with known gradients.
  static func fixture() throws -> (Sequential, [SourceSlot], FlatBuffer) {
    let model = try Sequential(spec: "fc3-fc2", inputShape: Shape([2]))  // layer 0: 9 floats, layer 1: 8
    let slots = (0..<2).map { k in
      SourceSlot(
        index: k, info: SourceInfo(name: "s\(k)", kind: .configured(k), shards: [.init(rank: 0, rows: 0..<4)]),
        sampler: nil, mask: nil, batchSize: 4, rows: 0..<4, model: model, seed: 1)
    }
    for i in 0..<17 {
      slots[0].gradient.storage[i] = Float(i % 5) - 1
      slots[1].gradient.storage[i] = Float(i % 3) * 0.5
    }
    let target = FlatBuffer((0..<17).map { Float($0 % 4) - 1.5 })
    return (model, slots, target)
  }

  @Test("the target coefficient adds c_l · g_T,l once to the mix")
  func targetCoefficients() throws {
    let (model, slots, target) = try Self.fixture()
    let mixer = GradientMixer(layout: model.layout)
    let mixed = model.makeBuffer()
    let w = MixingWeights(weights: [[1, 0], [0, 0]], usefulness: 0, emptyLayers: [], targetCoefficients: [0, -2])
    var timers = PhaseTimers()
    try AllreduceMixing(comm: LocalCommunicator(), mixer: mixer)
      .mix(
        w, active: [true, true], local: slots.map(\.localGradient), target: target, into: mixed,
        timers: &timers)
    let expected = (0..<17).map { i in i < 9 ? slots[0].gradient.storage[i] : -2 * target.storage[i] }
    #expect(mixed.array == expected)
  }

  @Test("both strategies write the mix only into the buffer they are given, the same numbers in one process")
  func strategiesWriteTheGivenBuffer() throws {
    let (model, slots, target) = try Self.fixture()
    let mixer = GradientMixer(layout: model.layout)
    let w = MixingWeights(
      weights: [[0.5, 2], [1, -1]], usefulness: 0, emptyLayers: [], targetCoefficients: [1, 0.25])
    let before = slots.map(\.gradient.array), targetBefore = target.array
    var outputs: [[Float]] = []
    let strategies: [any MixingStrategy] = [
      AllreduceMixing(comm: LocalCommunicator(), mixer: mixer),
      GatherMixing(
        comm: LocalCommunicator(), mixer: mixer,
        shards: [[SourcePlacement.Shard(rank: 0, rows: 0..<1)], [SourcePlacement.Shard(rank: 0, rows: 0..<1)]]),
    ]
    for strategy in strategies {
      let mixed = model.makeBuffer()
      mixed.fill(.nan)  // every element must be written
      var timers = PhaseTimers()
      try strategy.mix(
        w, active: [true, true], local: slots.map(\.localGradient), target: target, into: mixed, timers: &timers)
      outputs.append(mixed.array)
    }
    let expected = (0..<17).map { i -> Float in
      let (a, b, c): (Float, Float, Float) = i < 9 ? (0.5, 1, 1) : (2, -1, 0.25)
      return a * slots[0].gradient.storage[i] + b * slots[1].gradient.storage[i] + c * target.storage[i]
    }
    for out in outputs {
      #expect(zip(out, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }
    #expect(outputs[0] == outputs[1])
    #expect(slots.map(\.gradient.array) == before && target.array == targetBefore)
  }
}
