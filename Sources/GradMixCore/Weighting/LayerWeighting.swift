/// The built-in ways of forming the per-(source, layer) weights of a step
/// from the layer-wise dot products of source and target gradients
/// (``DotProductWeighting`` implements them behind ``WeightingRule``).
public enum WeightingScheme: String, Codable, Sendable, CaseIterable {
  /// GradMix: one weight per (source, layer), rectified and normalised over
  /// sources within each layer.
  case layerWise = "layer-wise"
  /// Learning-to-reweight family: one weight per source (its dot products
  /// summed over layers), rectified and normalised over sources, applied to
  /// every layer.
  case sourceWise = "source-wise"
  /// Equal weights 1/K over the active sources, whatever the dot products.
  case uniform
}

/// The weights of one step: `weights[k][l]` scales layer l of source k's
/// gradient in the mixed update.
public struct MixingWeights: Equatable, Sendable {
  public var weights: [[Float]]
  /// Σ of the rectified, un-normalised weights (the first-order predicted
  /// decrease of the target loss per unit step): what the adaptive learning
  /// rate compares with its running average.
  public var usefulness: Double
  /// Layers that get no update this step (every source points away from the target).
  public var emptyLayers: [Int]
  /// Optional c_l: the mix adds c_l · g_T,l once (the coordinator adds it),
  /// e.g. a projection of the sources onto the target gradient's normal
  /// plane written as Σ_k w_k,l g_k,l + c_l g_T,l. nil: no target term.
  public var targetCoefficients: [Float]? = nil

  public init(weights: [[Float]], usefulness: Double, emptyLayers: [Int], targetCoefficients: [Float]? = nil) {
    self.weights = weights; self.usefulness = usefulness; self.emptyLayers = emptyLayers
    self.targetCoefficients = targetCoefficients
  }
}

/// The GradMix weight rule (Li et al., "GradMix: Multi-source Transfer across
/// Domains and Tasks", WACV 2020, arXiv:2002.03264, Sec. 3.2).
///
/// The mixed step is θ' = θ − α Σ_k w_k ⊙ g_k, where w_{k,l} scales layer l of
/// source k's gradient g_k. One look-ahead step from w = 0 gives
///
///     ∂L_T(θ')/∂w_{k,l} |_{w=0} = −α ⟨∇_{θ_l} L_T(θ), g_{k,l}⟩ = −α d_{k,l}
///
/// so the weight that most reduces the target loss is w̃_{k,l} ∝ d_{k,l}, the
/// layer-wise dot product of the target gradient and source k's gradient. The
/// weights are rectified, w̃ = max(d, 0), and normalised over sources within
/// each layer, w_{k,l} = w̃_{k,l} / Σ_j w̃_{j,l}; a layer whose every w̃ is 0
/// gets no source update that step. The constant α cancels in the
/// normalisation and is dropped.
public enum LayerWeighting {
  /// Solves for the weights.
  ///
  /// - Parameters:
  ///   - dots: `dots[k][l]` = ⟨g_T,l, g_k,l⟩ for every source k and layer l.
  ///   - active: whether source k takes part this step (an inactive source —
  ///     not yet started, or with a non-finite gradient — gets weight 0).
  ///   - rule: the weighting rule.
  /// - Returns: the weights, the usefulness Σ max(·, 0) and the empty layers.
  public static func solve(dots: [[Double]], active: [Bool], rule: WeightingScheme) -> MixingWeights {
    let k = dots.count
    precondition(active.count == k, "\(active.count) activity flags for \(k) sources.")
    let layers = dots.first?.count ?? 0
    precondition(dots.allSatisfy { $0.count == layers }, "Every source needs one dot product per layer (\(layers)).")
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    var usefulness = 0.0
    var empty: [Int] = []
    switch rule {
    case .layerWise:
      for l in 0..<layers {
        var sum = 0.0
        for s in 0..<k where active[s] { sum += max(dots[s][l], 0) }
        usefulness += sum
        guard sum > 0 else { empty.append(l); continue }
        for s in 0..<k where active[s] { w[s][l] = Float(max(dots[s][l], 0) / sum) }
      }
    case .sourceWise:
      let totals = dots.map { $0.reduce(0, +) }
      var sum = 0.0
      for s in 0..<k where active[s] { sum += max(totals[s], 0) }
      usefulness = sum
      if sum > 0 {
        for s in 0..<k where active[s] {
          let v = Float(max(totals[s], 0) / sum)
          for l in 0..<layers { w[s][l] = v }
        }
      } else {
        empty = Array(0..<layers)
      }
    case .uniform:
      let n = active.filter { $0 }.count
      for l in 0..<layers {
        var sum = 0.0
        for s in 0..<k where active[s] { sum += max(dots[s][l], 0) }
        usefulness += sum
      }
      if n > 0 {
        for s in 0..<k where active[s] { for l in 0..<layers { w[s][l] = 1 / Float(n) } }
      } else {
        empty = Array(0..<layers)
      }
    }
    return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: empty)
  }
}
