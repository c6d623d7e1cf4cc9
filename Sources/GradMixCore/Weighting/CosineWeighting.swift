/// Source weights from the cosine similarity of each source's gradient with
/// the target gradient, gated at 0 (Du, Czarnecki, Jayakumar, Farajtabar,
/// Pascanu, Lakshminarayanan, "Adapting Auxiliary Losses Using Gradient
/// Similarity", arXiv:1812.02224, 2018, the weighted variant of Alg. 1).
///
/// Over the whole model (all layers together),
///
///     cos_k = Σ_l d_k,l / √(Σ_l ‖g_k,l‖² · Σ_l ‖g_T,l‖²),   w̃_k = max(cos_k, 0),
///
/// and every layer of source k gets w_k = w̃_k / Σ_j w̃_j. Du et al. add
/// w̃_k g_k to the main task's gradient without normalising; Choice: here the
/// weights are normalised over sources like every other rule of this trainer
/// (the labelled target set is itself one of the sources), so all rules take
/// steps of the same size at the same learning rate and differ only in the
/// direction. Usefulness (for the adaptive learning rate) is that of the
/// source-wise rule, Σ_k max(Σ_l d_k,l, 0). Stateless.
public struct CosineWeighting: WeightingRule {
  public init() {}

  public var needsWholeSourceNorms: Bool { true }

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    let cosines = CosineWeighting.cosines(statistics)
    let k = statistics.sourceCount, layers = statistics.layerCount
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    var sum = 0.0, usefulness = 0.0
    for s in 0..<k where active[s] {
      sum += max(cosines[s], 0)
      usefulness += max(statistics.dots[s].reduce(0, +), 0)
    }
    guard sum > 0 else { return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: Array(0..<layers)) }
    for s in 0..<k where active[s] {
      let v = Float(max(cosines[s], 0) / sum)
      for l in 0..<layers { w[s][l] = v }
    }
    return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: [])
  }

  /// The whole-model cosine of every source's gradient with the target
  /// gradient (0 where either norm is 0).
  public static func cosines(_ statistics: StepStatistics) -> [Double] {
    let targetSquared = statistics.targetSquaredNorms.reduce(0, +)
    return (0..<statistics.sourceCount).map { s in
      let n = statistics.sourceSquaredNorms[s].reduce(0, +) * targetSquared
      return n > 0 ? statistics.dots[s].reduce(0, +) / n.squareRoot() : 0
    }
  }
}
