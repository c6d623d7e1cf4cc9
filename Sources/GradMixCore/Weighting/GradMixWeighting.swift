import Foundation

/// The GradMix weights with the departures from the paper that the task
/// suite selected on its validation split (docs/DESIGN.md, "The default
/// rule" to "The tenth screen"): the first steps mix the labelled target
/// set alone while the scores gather evidence; then gates close the sources
/// whose labels disagree with the target's (the label gate and class match
/// below), and the open sources are mixed with equal shares, each layer that
/// conflicts with the target gradient projected onto its normal plane
/// (`mix: pcgrad`, the default since the tenth screen; the shares and c_l
/// from ``PCGradTargetWeighting/equalShares(_:included:)``). With `mix: layerwise` (the default before it) the
/// open sources get the smoothed, bounded layer-wise weights.
///
/// With x_k,l this step's score, the paper's d_k,l = ⟨g_T,l, g_k,l⟩ (or the
/// cosine d_k,l / (‖g_k,l‖ ‖g_T,l‖)):
///
///     m_k,l ← β m_k,l + (1 − β) x_k,l,   q_k,l ← β q_k,l + (1 − β) x_k,l²   (both start at 0)
///     s_k,l = m_k,l − z √((q_k,l − m_k,l²) (1 − β)/(1 + β))   (a lower bound)
///     w_k,l = max(s_k,l, 0) / Σ_j max(s_j,l, 0)               (`mix: layerwise`, Li et al. 2020)
///
/// (1 − β)/(1 + β) is the variance of an EMA of independent draws relative
/// to one draw's, so the bound asks the smoothed score to be z standard
/// errors above 0. The EMA starts from 0 (Choice: a source earns weight
/// only as evidence accumulates; at an untrained network every source's
/// gradient, a random-label one's included, shares the label-independent
/// direction of the target's). β = 0, z = 0 and the dot score are the
/// paper's rule (``paper(sources:layers:)``). A layer whose every s is ≤ 0
/// gets no update. Usefulness (the adaptive learning rate's input) stays the
/// paper's Σ_l Σ_k max(d_k,l, 0) of this step's raw dot products.
///
/// Choice (the default since the second validation screen, `hold: 10`):
/// for the first H steps the labelled target set (where it is a source)
/// gets weight 1 in every layer and the other sources 0, while every
/// source's scores still enter the EMA. At an untrained network a
/// harmful source's classifier-layer cosine is the largest of all (the
/// label-independent part of the gradient), and with no evidence yet the
/// bound cannot tell it apart; holding it out costs the useful sources
/// H steps of the learning-rate warm-up, when the steps are small.
///
/// Choice (the default since the third validation screen, `label_gate:
/// true`): the label gate. Each source also has a label score x_k =
/// cos(Λ_k, Λ̄_T), the cosine of the label-dependent part of its
/// classifier-layer gradient with the target's, smoothed over steps
/// (``LabelSignature``), with the same EMA and bound (z =
/// `label_confidence`, default 2.5 since the tenth screen, 1 before it); a source whose label bound
/// is ≤ 0 gets 0 in every layer:
///
///     m_k ← β m_k + (1 − β) x_k,   q_k ← β q_k + (1 − β) x_k²
///     closed_k = m_k − z √((q_k − m_k²)(1 − β)/(1 + β)) ≤ 0  ⇒  s_k,l ← min(s_k,l, 0) for every l
///
/// The gradient cosines cannot tell a wrong-label source from a weak useful
/// one (both about +0.05 in the classifier layer, DESIGN "Harmful
/// sources"), since both share the label-independent part of the gradient;
/// the label signatures leave that part out.
///
/// Choice (the default since the fourth validation screen, `label_match:
/// true`): the class-match veto. The gate also closes a source whose class
/// match y_k (``LabelSignature/match(against:)``: the share of its classes
/// whose signature row is closest to the target's row of the same class,
/// less chance), smoothed by the same EMA (u_k, no bound), is ≤ 0. The
/// whole-matrix cosine passes a permutation onto look-alike classes; the
/// match does not.
///
/// Choice (the default since the tenth validation screen, `mix: pcgrad`,
/// `label_confidence: 2.5`): the open sources get equal shares 1/n in every
/// layer, and with d_k,l < 0 a source's layer is projected onto g_T,l's normal
/// plane, which adds c_l g_T,l to the mix (``PCGradTargetWeighting``):
///
///     w_k,l = 1/n for the n open sources, 0 for the closed ones
///     c_l   = −Σ_{k open} (1/n) min(d_k,l, 0) / ‖g_T,l‖²
///
/// The layer scores' bound then shapes no weight. Equal shares give a source the gate leaves open by chance a
/// full share, so the label bound asks z = 2.5 standard errors: a
/// shuffled-label source's label score flickers above a 1-error bound in
/// runs of steps (its per-step scores are correlated), above 2.5 almost never.
public struct GradMixWeighting: WeightingRule {
  /// What each weight is proportional to before smoothing.
  public enum Score: String, Sendable { case dot, cosine }
  /// How the sources the gates leave open are mixed: the (bounded, rectified,
  /// normalised) layer-wise weights (`layerwise`), or equal shares with each
  /// conflicting layer projected onto the target gradient's normal plane, as
  /// ``PCGradTargetWeighting`` does (`pcgrad`).
  public enum Mix: String, Sendable { case layerwise, pcgrad }

  /// The defaults of `gradmix` (config `weighting:`), chosen on the suite's
  /// validation split (docs/DESIGN.md). The one place they are stated: the
  /// resolved config (``TrainConfig/resolved(options:)``) and the rule read them here.
  public enum Defaults {
    public static let smoothing = 0.9
    public static let score = Score.cosine
    public static let confidence = 1.0
    public static let hold = 10
    public static let labelGate = true
    public static let labelMatch = true
    public static let labelConfidence = 2.5
    public static let mix = Mix.pcgrad
  }

  public let score: Score
  /// β: the EMA factor (0: this step only).
  public let smoothing: Double
  /// z: standard errors subtracted from the smoothed score.
  public let confidence: Double
  /// Whether a source whose label-signature bound is ≤ 0 gets 0 in every
  /// layer (the label gate: the same EMA and bound on the cosine of the
  /// label signatures, ``LabelSignature``).
  public let labelGate: Bool
  /// z of the label gate's bound.
  public let labelConfidence: Double
  /// Whether the label gate also closes a source whose smoothed class match
  /// (``LabelSignature/match(against:)``, chance-corrected) is ≤ 0.
  public let labelMatch: Bool
  /// The labelled target set's index among the sources (nil: not a source).
  public let targetIndex: Int?
  /// The first H steps mix the target set alone (scores still accumulate).
  public let hold: Int
  /// How the open sources are mixed (``Mix``).
  public let mix: Mix
  /// Steps solved so far (for ``hold``).
  public var solved = 0
  /// m and q, row-major K×L.
  public var means: [Double]
  public var squares: [Double]
  /// The label gate's m and q, one per source.
  public var labelMeans: [Double]
  public var labelSquares: [Double]
  /// The class match's EMA, one per source (``labelMatch``).
  public var matchMeans: [Double]

  public init(
    sources: Int, layers: Int, score: Score = Defaults.score, smoothing: Double = Defaults.smoothing,
    confidence: Double = Defaults.confidence, targetIndex: Int? = nil, hold: Int = Defaults.hold,
    labelGate: Bool = Defaults.labelGate, labelConfidence: Double = Defaults.labelConfidence,
    labelMatch: Bool = Defaults.labelMatch, mix: Mix = Defaults.mix
  ) {
    precondition(smoothing >= 0 && smoothing < 1, "The smoothing factor must be in [0, 1), got \(smoothing).")
    precondition(confidence >= 0, "The confidence must not be negative, got \(confidence).")
    self.score = score
    self.smoothing = smoothing
    self.confidence = confidence
    self.targetIndex = targetIndex
    self.hold = hold
    self.labelGate = labelGate
    self.labelConfidence = labelConfidence
    self.labelMatch = labelGate && labelMatch
    self.mix = mix
    means = [Double](repeating: 0, count: sources * layers)
    squares = means
    labelMeans = [Double](repeating: 0, count: sources)
    labelSquares = labelMeans
    matchMeans = labelMeans
  }

  /// The paper's rule: this step's dot products, layer-wise.
  public static func paper(sources: Int, layers: Int) -> GradMixWeighting {
    GradMixWeighting(
      sources: sources, layers: layers, score: .dot, smoothing: 0, confidence: 0, hold: 0, labelGate: false,
      mix: .layerwise)
  }

  public var needsWholeSourceNorms: Bool { score == .cosine || labelGate }
  public var isLayerSeparable: Bool { smoothing == 0 && score == .dot && hold == 0 && !labelGate }
  public var usesLabelScores: Bool { labelGate }

  /// Choice: a checkpoint from before the clean-up of 2026-12-05 may hold
  /// `gradmix.seen` (for the removed `prior: first`); it is ignored.
  public var state: [String: [Double]] {
    get {
      var s: [String: [Double]] = smoothing == 0 ? [:] : ["gradmix.means": means, "gradmix.squares": squares]
      if hold > 0 && targetIndex != nil { s["gradmix.solved"] = [Double(solved)] }
      if labelGate { s["gradmix.label_means"] = labelMeans; s["gradmix.label_squares"] = labelSquares }
      if labelMatch { s["gradmix.label_matches"] = matchMeans }
      return s
    }
    set {
      if let v = newValue["gradmix.solved"], v.count == 1 {
        solved = Int(v[0])
      } else if newValue["gradmix.means"] != nil {
        solved = hold  // a checkpoint from before the hold existed: past it
      }
      if let v = newValue["gradmix.means"], v.count == means.count { means = v }
      if let v = newValue["gradmix.squares"], v.count == squares.count { squares = v }
      if let v = newValue["gradmix.label_means"], v.count == labelMeans.count { labelMeans = v }
      if let v = newValue["gradmix.label_squares"], v.count == labelSquares.count { labelSquares = v }
      if let v = newValue["gradmix.label_matches"], v.count == matchMeans.count { matchMeans = v }
    }
  }

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    let k = statistics.sourceCount, layers = statistics.layerCount
    precondition(means.count == k * layers, "The rule holds \(means.count) scores for \(k)×\(layers).")
    var usefulness = 0.0
    for s in 0..<k where active[s] {
      for l in 0..<layers {
        let d = statistics.dots[s][l]
        usefulness += max(d, 0)
        var x = d
        if score == .cosine {
          let n = statistics.sourceSquaredNorms[s][l] * statistics.targetSquaredNorms[l]
          x = n > 0 ? d / n.squareRoot() : 0
        }
        let i = s * layers + l
        means[i] = smoothing * means[i] + (1 - smoothing) * x
        squares[i] = smoothing * squares[i] + (1 - smoothing) * x * x
      }
      if labelGate {
        let x = statistics.labelScores[s]
        labelMeans[s] = smoothing * labelMeans[s] + (1 - smoothing) * x
        labelSquares[s] = smoothing * labelSquares[s] + (1 - smoothing) * x * x
        let y = statistics.labelMatches[s]
        matchMeans[s] = smoothing * matchMeans[s] + (1 - smoothing) * y
      }
    }
    // The scores the weights use: the smoothed means less z standard errors.
    var bound = means
    let f = (1 - smoothing) / (1 + smoothing)
    if confidence > 0 {
      for i in bound.indices { bound[i] -= confidence * (max(squares[i] - means[i] * means[i], 0) * f).squareRoot() }
    }
    // The gates: a closed source keeps its EMA but gets 0 in every layer.
    var open = active
    for s in 0..<k {
      let closed =
        (labelGate
          && labelMeans[s] - labelConfidence
            * (max(labelSquares[s] - labelMeans[s] * labelMeans[s], 0) * f).squareRoot()
            <= 0)
        || (labelMatch && matchMeans[s] <= 0)
      if closed {
        for l in 0..<layers { bound[s * layers + l] = min(bound[s * layers + l], 0) }
        open[s] = false
      }
    }
    var w: [[Float]], empty: [Int], projection: [Float]? = nil
    if mix == .pcgrad {
      let shares = PCGradTargetWeighting.equalShares(statistics, included: open)
      (w, projection) = (shares.weights, shares.coefficients)
      empty = shares.count > 0 ? [] : Array(0..<layers)
    } else {
      (w, empty) = layerwiseWeights(bound: bound, active: active, sources: k, layers: layers)
    }
    solved += 1
    if let t = targetIndex, active[t], solved <= hold {
      // Hold: the target set alone while the scores gather evidence.
      for s in 0..<k { for l in 0..<layers { w[s][l] = s == t ? 1 : 0 } }
      empty = []
      projection = projection.map { $0.map { _ in 0 } }
    }
    return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: empty, targetCoefficients: projection)
  }

  /// The bounded scores rectified and normalised per layer (`mix:
  /// layerwise`); the layers no source has weight in.
  private func layerwiseWeights(bound: [Double], active: [Bool], sources k: Int, layers: Int) -> ([[Float]], [Int]) {
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    var empty: [Int] = []
    for l in 0..<layers {
      var sum = 0.0
      for s in 0..<k where active[s] { sum += max(bound[s * layers + l], 0) }
      if sum > 0 {
        for s in 0..<k where active[s] { w[s][l] = Float(max(bound[s * layers + l], 0) / sum) }
      } else {
        empty.append(l)
      }
    }
    return (w, empty)
  }
}
