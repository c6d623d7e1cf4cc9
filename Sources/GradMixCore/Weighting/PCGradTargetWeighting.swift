/// Equal source weights, with every source gradient that conflicts with the
/// target gradient projected onto the target gradient's normal plane, layer
/// by layer (PCGrad, Yu, Kumar, Gupta, Levine, Hausman, Finn, "Gradient
/// Surgery for Multi-Task Learning", NeurIPS 2020, arXiv:2001.06782, Alg. 1,
/// adapted to a target task).
///
/// PCGrad projects each task's gradient onto the normal plane of every other
/// task's gradient it conflicts with. Here only the target matters: in layer
/// l, if d_k,l = ⟨g_T,l, g_k,l⟩ < 0, g_k,l is replaced by
/// g_k,l − (d_k,l / ‖g_T,l‖²) g_T,l. With the equal weights w = 1/K of the
/// active sources, the mix Σ_k w g'_k,l is Σ_k w g_k,l + c_l g_T,l with
///
///     c_l = −Σ_k w · min(d_k,l, 0) / ‖g_T,l‖²
///
/// (``MixingWeights/targetCoefficients``), so it needs no extra collective.
/// Choice: per layer rather than over the whole model (the trainer's unit of
/// mixing; a layer-wise projection removes every conflicting layer, the
/// whole-model one only the net conflict). Usefulness: Σ_l Σ_k max(d_k,l, 0),
/// as for the layer-wise rule. Stateless.
public struct PCGradTargetWeighting: WeightingRule {
  public init() {}

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    let shares = Self.equalShares(statistics, included: active)
    guard shares.count > 0 else {
      return MixingWeights(weights: shares.weights, usefulness: 0, emptyLayers: Array(0..<statistics.layerCount))
    }
    var usefulness = 0.0
    for l in 0..<statistics.layerCount {
      for s in 0..<statistics.sourceCount where active[s] { usefulness += max(statistics.dots[s][l], 0) }
    }
    return MixingWeights(
      weights: shares.weights, usefulness: usefulness, emptyLayers: [], targetCoefficients: shares.coefficients)
  }

  /// Shares 1/N for the n `included` sources in every layer (0 for the rest),
  /// N = `among` (n when nil), and the projection's coefficients
  /// c_l = −Σ_{k included} (1/N) min(d_k,l, 0) / ‖g_T,l‖² (0 where ‖g_T,l‖ = 0).
  /// Shared with `GatedPCGradWeighting`, which passes the sources its label gate
  /// leaves open and N = the active sources (a closed source's share is dropped).
  static func equalShares(_ statistics: StepStatistics, included: [Bool], among: Int? = nil) -> (
    weights: [[Float]], coefficients: [Float], count: Int
  ) {
    let k = statistics.sourceCount, layers = statistics.layerCount
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    var c = [Float](repeating: 0, count: layers)
    let n = included.filter { $0 }.count
    guard n > 0 else { return (w, c, 0) }
    let share = 1 / Double(among ?? n)
    for l in 0..<layers {
      let t = statistics.targetSquaredNorms[l]
      var coefficient = 0.0
      for s in 0..<k where included[s] {
        w[s][l] = Float(share)
        let d = statistics.dots[s][l]
        if d < 0 && t > 0 { coefficient -= share * d / t }
      }
      c[l] = Float(coefficient)
    }
    return (w, c, n)
  }
}
