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
///     m_k,l ← β m_k,l + (1 − β) x_k,l,   q_k,l ← β q_k,l + (1 − β) x_k,l²
///          (both start at 0, the default prior, or at a source's first score)
///     s_k,l = m_k,l − z √((q_k,l − m_k,l²) (1 − β)/(1 + β))   (a lower bound)
///     u_k,l = max(s_k,l, 0)^p / Σ_j max(s_j,l, 0)^p           (layer-wise, Li et al. 2020: p = 1)
///     v_k   = max(Σ_l s_k,l, 0) / Σ_j max(Σ_l s_j,l, 0)        (source-wise)
///     w_k,l = λ u_k,l + (1 − λ) v_k
///
/// (1 − β)/(1 + β) is the variance of an EMA of independent draws relative
/// to one draw's, so the bound asks the smoothed score to be z standard
/// errors above 0. The EMA starts from a prior of 0 (m = q = 0 before a
/// source's first score; Choice, the default since the harmful-source
/// screen), so that a source earns weight only as evidence accumulates,
/// instead of at its first score (`prior: first`): at an untrained network
/// every source's gradient, a random-label one's included, shares the
/// label-independent direction of the target's. Further options: a *gate*
/// gives a source 0 in every layer while its classifier-layer (last layer)
/// bound is ≤ 0, since a source whose labels disagree with the target's is
/// harmful through every layer it trains. β = 0 (where the prior makes no
/// difference), z = 0, λ = 1, p = 1, no gate and the dot score are the
/// paper's rule (`gradmix-paper`). A layer whose every s is ≤ 0
/// gets no update with λ = 1 (the paper) and the source-wise weights with
/// λ < 1. Usefulness (the adaptive learning rate's input) stays the paper's
/// Σ_l Σ_k max(d_k,l, 0) of this step's raw dot products.
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
/// (``LabelSignature``), with the same EMA, prior and bound (z =
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
/// The layer scores' bound then shapes no weight (it still drives `gate:
/// true`). Equal shares give a source the gate leaves open by chance a
/// full share, so the label bound asks z = 2.5 standard errors: a
/// shuffled-label source's label score flickers above a 1-error bound in
/// runs of steps (its per-step scores are correlated), above 2.5 almost never.
public struct GradMixWeighting: WeightingRule {
  /// What each weight is proportional to before smoothing.
  public enum Score: String, Sendable { case dot, cosine }
  /// Where a source's EMA starts: at its first score (`first`) or at 0 (`zero`).
  public enum Prior: String, Sendable { case first, zero }
  /// The magnitude each layer's mix is scaled to: the rule's shares as they
  /// are (`none`), or the mean gradient norm of the sources that have weight
  /// in the layer (`open`) or of every active source (`active`).
  public enum Magnitude: String, Sendable { case none, open, active }
  /// How the sources the gates leave open are mixed: the (bounded, rectified,
  /// normalised) layer-wise weights (`layerwise`), or equal shares with each
  /// conflicting layer projected onto the target gradient's normal plane, as
  /// ``PCGradTargetWeighting`` does (`pcgrad`).
  public enum Mix: String, Sendable { case layerwise, pcgrad }

  /// The defaults of `gradmix` (config `weighting:`), chosen on the suite's
  /// validation split (docs/DESIGN.md).
  public enum Defaults {
    public static let smoothing = 0.9
    public static let layerShare = 1.0
    public static let score = Score.cosine
    public static let confidence = 1.0
    public static let sharpness = 1.0
    public static let prior = Prior.zero
    public static let gate = false
    public static let hold = 10
    public static let labelGate = true
    public static let labelMatch = true
    public static let labelConfidence = 2.5
    public static let magnitude = Magnitude.none
    public static let mix = Mix.pcgrad
    static let labelClasses = LabelSignature.Classes.target
  }

  public let score: Score
  /// β: the EMA factor (0: this step only).
  public let smoothing: Double
  /// λ: the share of the layer-wise weights (1: the paper's, 0: source-wise).
  public let layerShare: Double
  /// z: standard errors subtracted from the smoothed score.
  public let confidence: Double
  /// p: the bounded scores' power before the layer-wise normalisation (1: the paper's).
  public let sharpness: Double
  public let prior: Prior
  /// Whether a source whose last-layer bound is ≤ 0 gets 0 in every layer.
  public let gate: Bool
  /// Whether a source whose label-signature bound is ≤ 0 gets 0 in every
  /// layer (the label gate: the same EMA and bound on the cosine of the
  /// label signatures, ``LabelSignature``).
  public let labelGate: Bool
  /// z of the label gate's bound.
  public let labelConfidence: Double
  /// ρ: the label bound must exceed ρ times the labelled target set's
  /// smoothed label score (0: the plain gate; an experiment, off by default).
  public let labelFloor: Double
  /// Whether the label gate also closes a source whose smoothed class match
  /// (``LabelSignature/match(against:)``, chance-corrected) is ≤ 0.
  public let labelMatch: Bool
  /// The labelled target set's index among the sources (nil: not a source).
  public let targetIndex: Int?
  /// The first H steps mix the target set alone (scores still accumulate).
  public let hold: Int
  /// The labelled target set's largest weight in a layer where another
  /// source has weight (its excess goes to them in proportion; nil: no cap).
  public let targetCap: Double?
  /// What each layer's mixed gradient is scaled to (``Magnitude``).
  public let magnitude: Magnitude
  /// How the open sources are mixed (``Mix``).
  public let mix: Mix
  /// Steps solved so far (for ``hold``).
  public var solved = 0
  /// m and q, row-major K×L, and whether each source has been seen (1) or not (0).
  public var means: [Double]
  public var squares: [Double]
  public var seen: [Double]
  /// The label gate's m and q, one per source.
  public var labelMeans: [Double]
  public var labelSquares: [Double]
  /// The class match's EMA, one per source (``labelMatch``).
  public var matchMeans: [Double]

  public init(
    sources: Int, layers: Int, score: Score = Defaults.score, smoothing: Double = Defaults.smoothing,
    layerShare: Double = Defaults.layerShare, confidence: Double = Defaults.confidence,
    sharpness: Double = Defaults.sharpness, prior: Prior = Defaults.prior, gate: Bool = Defaults.gate,
    targetIndex: Int? = nil, hold: Int = Defaults.hold, labelGate: Bool = Defaults.labelGate,
    labelConfidence: Double = Defaults.labelConfidence, labelFloor: Double = 0, labelMatch: Bool = Defaults.labelMatch,
    targetCap: Double? = nil, magnitude: Magnitude = Defaults.magnitude, mix: Mix = Defaults.mix
  ) {
    precondition(smoothing >= 0 && smoothing < 1, "The smoothing factor must be in [0, 1), got \(smoothing).")
    precondition(layerShare >= 0 && layerShare <= 1, "The layer share must be in [0, 1], got \(layerShare).")
    precondition(confidence >= 0, "The confidence must not be negative, got \(confidence).")
    precondition(sharpness > 0, "The sharpness must be positive, got \(sharpness).")
    self.score = score
    self.smoothing = smoothing
    self.layerShare = layerShare
    self.confidence = confidence
    self.sharpness = sharpness
    self.prior = prior
    self.gate = gate
    self.targetIndex = targetIndex
    self.hold = hold
    self.labelGate = labelGate
    self.labelConfidence = labelConfidence
    self.labelFloor = labelFloor
    self.labelMatch = labelGate && labelMatch
    self.targetCap = targetCap
    self.magnitude = magnitude
    self.mix = mix
    means = [Double](repeating: 0, count: sources * layers)
    squares = means
    seen = [Double](repeating: 0, count: sources)
    labelMeans = seen
    labelSquares = seen
    matchMeans = seen
  }

  /// The paper's rule: this step's dot products, layer-wise.
  public static func paper(sources: Int, layers: Int) -> GradMixWeighting {
    GradMixWeighting(
      sources: sources, layers: layers, score: .dot, smoothing: 0, layerShare: 1, confidence: 0, hold: 0,
      labelGate: false, mix: .layerwise)
  }

  public var needsWholeSourceNorms: Bool { score == .cosine || labelGate }
  public var isLayerSeparable: Bool {
    smoothing == 0 && layerShare == 1 && score == .dot && !gate && hold == 0 && !labelGate
  }
  public var usesLabelScores: Bool { labelGate }

  public var state: [String: [Double]] {
    get {
      var s: [String: [Double]] =
        smoothing == 0 ? [:] : ["gradmix.means": means, "gradmix.squares": squares, "gradmix.seen": seen]
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
      if let v = newValue["gradmix.seen"], v.count == seen.count { seen = v }
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
        let fresh = seen[s] == 0 && prior == .first  // else the EMA goes on from m = q = 0
        means[i] = fresh ? x : smoothing * means[i] + (1 - smoothing) * x
        squares[i] = fresh ? x * x : smoothing * squares[i] + (1 - smoothing) * x * x
      }
      if labelGate {
        let x = statistics.labelScores[s]
        let fresh = seen[s] == 0 && prior == .first
        labelMeans[s] = fresh ? x : smoothing * labelMeans[s] + (1 - smoothing) * x
        labelSquares[s] = fresh ? x * x : smoothing * labelSquares[s] + (1 - smoothing) * x * x
        let y = statistics.labelMatches[s]
        matchMeans[s] = fresh ? y : smoothing * matchMeans[s] + (1 - smoothing) * y
      }
      seen[s] = 1
    }
    // The scores the weights use: the smoothed means less z standard errors.
    var bound = means
    let f = (1 - smoothing) / (1 + smoothing)
    if confidence > 0 {
      for i in bound.indices { bound[i] -= confidence * (max(squares[i] - means[i] * means[i], 0) * f).squareRoot() }
    }
    // The gates: a closed source keeps its EMA but gets 0 in every layer.
    let floor = labelFloor > 0 ? labelFloor * max(targetIndex.map { labelMeans[$0] } ?? 0, 0) : 0
    var open = active
    for s in 0..<k {
      let threshold = s == targetIndex ? 0 : floor  // the target set is its own reference
      let closed =
        (gate && bound[s * layers + layers - 1] <= 0)
        || (labelGate
          && labelMeans[s] - labelConfidence
            * (max(labelSquares[s] - labelMeans[s] * labelMeans[s], 0) * f).squareRoot()
            <= threshold)
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
    var scales: [Float]? = nil
    if magnitude != .none {
      // s_l = (mean of ‖g_k,l‖ over the reference sources) / Σ_k w_k,l ‖g_k,l‖.
      var s = [Float](repeating: 1, count: layers)
      for l in 0..<layers {
        var nominal = 0.0, reference = 0.0, count = 0
        for j in 0..<k where active[j] {
          let norm = statistics.sourceSquaredNorms[j][l].squareRoot()
          nominal += Double(w[j][l]) * norm
          if magnitude == .active || w[j][l] > 0 { reference += norm; count += 1 }
        }
        if nominal > 0 && count > 0 { s[l] = Float(reference / Double(count) / nominal) }
      }
      scales = s
    }
    return MixingWeights(
      weights: w, usefulness: usefulness, emptyLayers: empty, targetCoefficients: projection, layerScales: scales)
  }

  /// The bounded scores rectified, raised to p and normalised per layer,
  /// shrunk toward the source-wise weights by λ, with the target set's cap
  /// (`mix: layerwise`); the layers no source has weight in.
  private func layerwiseWeights(bound: [Double], active: [Bool], sources k: Int, layers: Int) -> ([[Float]], [Int]) {
    // The layer-wise part's numerators max(s, 0)^p.
    let sharp = sharpness == 1 ? bound.map { max($0, 0) } : bound.map { Foundation.pow(max($0, 0), sharpness) }
    // The source-wise part v.
    var v = [Double](repeating: 0, count: k)
    var total = 0.0
    for s in 0..<k where active[s] {
      v[s] = max(bound[(s * layers)..<((s + 1) * layers)].reduce(0, +), 0)
      total += v[s]
    }
    if total > 0 { for s in 0..<k { v[s] /= total } }
    var w = [[Float]](repeating: [Float](repeating: 0, count: layers), count: k)
    var empty: [Int] = []
    for l in 0..<layers {
      var sum = 0.0
      for s in 0..<k where active[s] { sum += sharp[s * layers + l] }
      if sum > 0 {
        for s in 0..<k where active[s] {
          w[s][l] = Float(layerShare * sharp[s * layers + l] / sum + (1 - layerShare) * v[s])
        }
      } else if layerShare < 1 && total > 0 {
        for s in 0..<k where active[s] { w[s][l] = Float(v[s]) }
      } else {
        empty.append(l)
      }
    }
    if let cap = targetCap, let t = targetIndex, active[t] {
      // The target set's cap: its excess over `cap` goes to the other weighted sources, in proportion.
      for l in 0..<layers where Double(w[t][l]) > cap {
        var others = 0.0
        for s in 0..<k where s != t && active[s] { others += Double(w[s][l]) }
        guard others > 0 else { continue }
        let scale = (1 - cap) / others
        for s in 0..<k where s != t && active[s] { w[s][l] = Float(Double(w[s][l]) * scale) }
        w[t][l] = Float(cap)
      }
    }
    return (w, empty)
  }
}
