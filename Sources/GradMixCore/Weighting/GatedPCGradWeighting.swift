import Foundation

/// The rule of `gated-pcgrad`, the default method (docs/DESIGN.md, "The
/// default rule"; called `gradmix` before 2026-12-05): the
/// first steps mix the labelled target set alone; then a label gate closes
/// the sources whose labels disagree with the target's, and each open source
/// gets 1/K of every layer (K the active sources, open or closed), each layer
/// that conflicts with the target gradient projected onto its normal plane
/// (the shares and c_l from ``PCGradTargetWeighting/equalShares(_:included:among:)``):
///
///     w_k,l = 1/K for the open sources, 0 for the closed ones
///     c_l   = −Σ_{k open} (1/K) min(d_k,l, 0) / ‖g_T,l‖²
///
/// so the per-layer dot products d_k,l = ⟨g_T,l, g_k,l⟩ decide which layers
/// are projected, not any share. Rules that chose sources per (source,
/// layer) lost on the clean tasks in every screen (docs/EXPERIMENTS.md,
/// 2026-12-05), and went.
///
/// Choice (the closed shares are dropped, not shared out): while a source is
/// closed the step is smaller, instead of the open sources, often the
/// labelled target set alone, taking its share. Sharing it out (weights
/// 1/n over the n open sources, the rule until 2026-12-06) over-fits the few
/// target labels while a weak useful source waits for the gate: `digits-uci`
/// −2.59 ± 1.79 points (validation, 15 seeds), mean over 10 tasks −0.74 ± 1.54
/// (10 seeds; docs/EXPERIMENTS.md, 2026-12-06). With every source open it
/// is `pcgrad-target`'s mix.
///
/// Choice (`label_gate`): each source has a label score x_k = cos(Λ_k, Λ̄_T),
/// the cosine of the label-dependent part of its classifier-layer gradient
/// with the target's (``LabelSignature``), smoothed by an EMA from 0 with
/// β = `smoothing`, and a source whose bound is ≤ 0 is closed:
///
///     m_k ← β m_k + (1 − β) x_k,   q_k ← β q_k + (1 − β) x_k²
///     closed_k ⇔ m_k − z √((q_k − m_k²)(1 − β)/(1 + β)) ≤ 0     (z = `label_confidence`)
///
/// ((1 − β)/(1 + β) is the variance of an EMA of independent draws relative
/// to one draw's.) The gradient cosines cannot tell a wrong-label source
/// from a weak useful one (both share the label-independent part of the
/// classifier gradient); the label signatures leave that part out. The EMA
/// starts at 0, so every source starts closed and opens on evidence.
///
/// Choice (`label_match`, the per-class check): the gate also closes a
/// source some of whose classes look like other target classes. With
/// r_{c,t} = cos(Λ_k,c, Λ̄_T,t) (``LabelSignature/classCosines(against:into:present:)``,
/// row c of the source's signature against row t of the target's), smoothed
/// per (source, c, t) by the same EMA (moving when class c is in the batch),
///
///     μ_k,c = R̄_k,c,c − max_{t ≠ c} R̄_k,c,t          (c: the classes source k has shown)
///     closed_k ⇔ the second-lowest μ_k,c ≤ −0.15        (the lowest if it has shown one class)
///
/// (``classMargin``; Choice: the second-lowest, so one odd class is not enough). A source with wrong labels for some
/// classes (a near-duplicate relabelled in three) keeps matching another
/// target row step after step, and a foreign one matches no row; the rows
/// of a weak useful source match no other row consistently, so the max taken
/// after smoothing, not before, spares it. The whole-matrix cosine passes
/// both harm kinds (results/screens/2026-12-05-per-class-gate-validation.md:
/// digits-foreign +2.8, digits-relabelled +2.6 points over the earlier
/// chance-corrected class match, clean tasks −0.05 to +0.7, 10 validation seeds).
///
/// Choice (`hold`): for the first H steps the labelled target set (where it
/// is a source) gets its share 1/K in every layer and the other sources 0,
/// while the label EMAs still move: at an untrained network the bound has no
/// evidence yet. Usefulness (the adaptive learning rate's input) is the
/// paper's Σ_l Σ_k max(d_k,l, 0) of this step.
public struct GatedPCGradWeighting: WeightingRule {
  /// The defaults of `gated-pcgrad` (config `weighting:`), chosen on the suite's
  /// validation split (docs/DESIGN.md). The one place they are stated: the
  /// resolved config (``TrainConfig/resolved(options:)``) and the rule read them here.
  public enum Defaults {
    public static let smoothing = 0.9
    public static let hold = 10
    public static let labelGate = true
    public static let labelMatch = true
    public static let labelConfidence = 2.5
    /// `label_match` where the config does not set it: on up to ``GatedPCGradWeighting/classCheckLimit`` classes.
    public static func labelMatch(classes: Int) -> Bool {
      labelMatch && classes <= GatedPCGradWeighting.classCheckLimit
    }
  }

  /// β: the EMA factor of the label gate (0: this step only).
  public let smoothing: Double
  /// Whether a source whose label-score bound is ≤ 0 gets 0 in every layer.
  public let labelGate: Bool
  /// z of the label gate's bound.
  public let labelConfidence: Double
  /// Whether the label gate also runs the per-class check (closes a source whose
  /// second-lowest class margin is ≤ ``classMargin``).
  public let labelMatch: Bool
  /// Choice: the class margin at or below which the per-class check closes a source (validation screen).
  public static let classMargin = -0.15
  /// Choice: the most classes the per-class check takes (its default is off above it; an explicit
  /// `label_match: true` is refused). It keeps C² values per source, exchanged every step: 0.5 MB
  /// at 256 classes, 3.2 GB at 20,000.
  public static let classCheckLimit = 256
  /// The labelled target set's index among the sources (nil: not a source).
  public let targetIndex: Int?
  /// The first H steps mix the target set alone (the label EMAs still move).
  public let hold: Int
  /// Steps solved so far (for ``hold``).
  public var solved = 0
  /// The label gate's m and q, one per source.
  public var labelMeans: [Double]
  public var labelSquares: [Double]
  /// R̄: the class cosines' EMA, [K][C·C] (row c, column t); empty until the first step names C.
  public var classMeans: [[Double]]
  /// 1 for each class a source has shown, [K][C].
  public var classSeen: [[Double]]

  public init(
    sources: Int, smoothing: Double = Defaults.smoothing, targetIndex: Int? = nil, hold: Int = Defaults.hold,
    labelGate: Bool = Defaults.labelGate, labelConfidence: Double = Defaults.labelConfidence,
    labelMatch: Bool = Defaults.labelMatch
  ) {
    precondition(smoothing >= 0 && smoothing < 1, "The smoothing factor must be in [0, 1), got \(smoothing).")
    self.smoothing = smoothing
    self.targetIndex = targetIndex
    self.hold = hold
    self.labelGate = labelGate
    self.labelConfidence = labelConfidence
    self.labelMatch = labelGate && labelMatch
    labelMeans = [Double](repeating: 0, count: sources)
    labelSquares = labelMeans
    classMeans = [[Double]](repeating: [], count: sources)
    classSeen = classMeans
  }

  public var needsWholeSourceNorms: Bool { labelGate }
  public var usesLabelScores: Bool { labelGate }
  public var usesClassCosines: Bool { labelMatch }
  public var labelGateHold: Int? { labelGate ? hold : nil }

  /// The keys keep the prefix `gradmix.` from when this was the `gradmix`
  /// method's rule, so that checkpoints from before the names of 2026-12-05
  /// resume unchanged (Choice: compatibility over a matching prefix).
  ///
  /// Choice: a checkpoint from before 2026-12-05 may hold `gradmix.seen`,
  /// `gradmix.means` and `gradmix.squares` (the layer scores of removed
  /// settings) and `gradmix.label_matches` (the class match's EMA, before
  /// the per-class check); they are ignored (the class cosines then start
  /// from 0), and one with no `gradmix.solved` resumes past the hold.
  /// `gradmix.class_means` and `gradmix.class_seen` are R̄ and the classes
  /// seen, flattened source by source.
  public var state: [String: [Double]] {
    get {
      var s: [String: [Double]] = [:]
      if hold > 0 && targetIndex != nil { s["gradmix.solved"] = [Double(solved)] }
      if labelGate { s["gradmix.label_means"] = labelMeans; s["gradmix.label_squares"] = labelSquares }
      if labelMatch {
        s["gradmix.class_means"] = classMeans.flatMap { $0 }
        s["gradmix.class_seen"] = classSeen.flatMap { $0 }
      }
      return s
    }
    set {
      if let v = newValue["gradmix.solved"], v.count == 1 {
        solved = Int(v[0])
      } else if newValue["gradmix.means"] != nil || newValue["gradmix.label_means"] != nil {
        solved = hold  // a checkpoint from before the hold existed: past it
      }
      if let v = newValue["gradmix.label_means"], v.count == labelMeans.count { labelMeans = v }
      if let v = newValue["gradmix.label_squares"], v.count == labelSquares.count { labelSquares = v }
      let k = classMeans.count
      if let m = newValue["gradmix.class_means"], let seen = newValue["gradmix.class_seen"], k > 0,
        seen.count % k == 0, m.count == seen.count * (seen.count / k)
      {
        let c = seen.count / k
        classMeans = (0..<k).map { Array(m[($0 * c * c)..<(($0 + 1) * c * c)]) }
        classSeen = (0..<k).map { Array(seen[($0 * c)..<(($0 + 1) * c)]) }
      }
    }
  }

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    let k = statistics.sourceCount, layers = statistics.layerCount
    precondition(labelMeans.count == k, "The rule holds \(labelMeans.count) sources, the step \(k).")
    var usefulness = 0.0
    for s in 0..<k where active[s] {
      for l in 0..<layers { usefulness += max(statistics.dots[s][l], 0) }
      if labelGate {
        let x = statistics.labelScores[s]
        labelMeans[s] = smoothing * labelMeans[s] + (1 - smoothing) * x
        labelSquares[s] = smoothing * labelSquares[s] + (1 - smoothing) * x * x
        if labelMatch { smoothClassCosines(statistics, source: s) }
      }
    }
    // The gate: a closed source keeps its EMAs but gets 0 in every layer.
    let f = (1 - smoothing) / (1 + smoothing)
    var open = active
    for s in 0..<k {
      let bound =
        labelMeans[s] - labelConfidence * (max(labelSquares[s] - labelMeans[s] * labelMeans[s], 0) * f).squareRoot()
      if (labelGate && bound <= 0) || (labelMatch && classStatistic(s, statistics) <= Self.classMargin) {
        open[s] = false
      }
    }
    let activeCount = active.filter { $0 }.count
    let shares = PCGradTargetWeighting.equalShares(statistics, included: open, among: activeCount)
    var (w, projection) = (shares.weights, shares.coefficients)
    var empty = shares.count > 0 ? [] : Array(0..<layers)
    solved += 1
    if let t = targetIndex, active[t], solved <= hold {
      // Hold: the target set alone, at its share, while the gate gathers evidence.
      let share = Float(1 / Double(activeCount))
      for s in 0..<k { for l in 0..<layers { w[s][l] = s == t ? share : 0 } }
      empty = []
      projection = projection.map { _ in 0 }
    }
    return MixingWeights(weights: w, usefulness: usefulness, emptyLayers: empty, targetCoefficients: projection)
  }

  // MARK: - The per-class check

  /// R̄_k ← β R̄_k + (1 − β) r_k for the rows of the classes in source k's batch and the target's classes.
  mutating func smoothClassCosines(_ statistics: StepStatistics, source s: Int) {
    let c = statistics.classCount
    if classMeans[s].count != c * c {
      classMeans[s] = [Double](repeating: 0, count: c * c)
      classSeen[s] = [Double](repeating: 0, count: c)
    }
    for y in 0..<c where statistics.classPresence[s][y] > 0 {
      classSeen[s][y] = 1
      for t in 0..<c where statistics.targetClasses[t] > 0 {
        let i = y * c + t
        classMeans[s][i] = smoothing * classMeans[s][i] + (1 - smoothing) * statistics.classCosines[s][i]
      }
    }
  }

  /// The per-class check's statistic: the second-lowest class margin
  /// μ_k,c = R̄_k,c,c − max_{t ≠ c} R̄_k,c,t over the classes c source k has shown
  /// that the target has (the highest of them if fewer; −∞ if none: no class in common;
  /// the max is 0 when the target has no other class). One pass, no arrays: it runs per source and step.
  func classStatistic(_ s: Int, _ statistics: StepStatistics) -> Double {
    let c = statistics.classCount
    guard classMeans[s].count == c * c else { return -.infinity }
    let means = classMeans[s], targets = statistics.targetClasses
    // The two lowest margins so far, ascending.
    var lowest = Double.infinity, second = Double.infinity, count = 0
    for y in 0..<c where targets[y] > 0 && classSeen[s][y] > 0 {
      var other = -Double.infinity
      for t in 0..<c where t != y && targets[t] > 0 { other = max(other, means[y * c + t]) }
      let margin = means[y * c + y] - (other == -.infinity ? 0 : other)
      count += 1
      if margin < lowest {
        (lowest, second) = (margin, lowest)
      } else if margin < second {
        second = margin
      }
    }
    guard count > 0 else { return -.infinity }
    return count >= 2 ? second : lowest
  }
}
