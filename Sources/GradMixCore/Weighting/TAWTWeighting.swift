import Foundation

/// Source weights updated over the steps by mirror descent on the negative
/// cosine similarity (Chen, Crammer, He, Roth, Su, "Weighted Training for
/// Cross-Task Learning", ICLR 2022, arXiv:2105.14095, TAWT, Alg. 1).
///
/// TAWT keeps weights w on the simplex and takes one exponentiated-gradient
/// (entropic mirror descent) step per round on the representation-level
/// objective, whose gradient in w_k is the negative cosine similarity of
/// source k's and the target's gradients:
///
///     w_k ← w_k · exp(η · cos_k) / Σ_j w_j · exp(η · cos_j)
///
/// with cos_k over the whole model (``CosineWeighting/cosines(_:)``). The
/// state is log w_k up to a constant (`logits`, 0 at the start, which is the
/// uniform w); the weights are the softmax of the logits over the sources
/// active in a step, so a source that joins late (the pseudo-labelled set)
/// starts from the initial share. Every layer of source k gets w_k; TAWT
/// does not rectify, a source with negative cosine only loses weight
/// gradually. Choice: one mirror step per training step (TAWT alternates
/// several model steps with one weight step); η = `learningRate` (default 0.1,
/// not tuned: with cosines of about 0.1 it moves a log-weight by about 1 per
/// 100 steps; config `weighting.tawt_rate`).
public struct TAWTWeighting: WeightingRule {
  public let learningRate: Double
  /// log w_k + const, one per source.
  public var logits: [Double]

  /// η unless the config sets `weighting.tawt_rate`.
  public static let defaultRate = 0.1

  public init(sources: Int, learningRate: Double = TAWTWeighting.defaultRate) {
    precondition(learningRate > 0, "The mirror-descent step must be positive, got \(learningRate).")
    self.learningRate = learningRate
    logits = [Double](repeating: 0, count: sources)
  }

  public var needsWholeSourceNorms: Bool { true }

  public var state: [String: [Double]] {
    get { ["tawt.logits": logits] }
    set { if let v = newValue["tawt.logits"], v.count == logits.count { logits = v } }
  }

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    let k = statistics.sourceCount, layers = statistics.layerCount
    precondition(logits.count == k, "TAWT holds \(logits.count) weights for \(k) sources.")
    let cosines = CosineWeighting.cosines(statistics)
    var usefulness = 0.0
    for s in 0..<k where active[s] {
      logits[s] += learningRate * cosines[s]
      usefulness += max(statistics.dots[s].reduce(0, +), 0)
    }
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    let live = (0..<k).filter { active[$0] }
    guard let top = live.map({ logits[$0] }).max() else {
      return MixingWeights(weights: w, usefulness: 0, emptyLayers: Array(0..<layers))
    }
    let e = live.map { exp(logits[$0] - top) }
    let z = e.reduce(0, +)
    for (i, s) in live.enumerated() {
      let v = Float(e[i] / z)
      for l in 0..<layers { w[s][l] = v }
    }
    return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: [])
  }
}
