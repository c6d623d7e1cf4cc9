/// A rule that turns one step's exchanged statistics into mixing weights.
///
/// Every rank calls ``solve(_:active:)`` with the same statistics in the
/// same order, so a rule may keep state across steps (e.g. weights updated
/// by mirror descent): the state stays identical on every rank without any
/// communication. ``state`` goes into the checkpoint (`TrainerState`), so a
/// resumed run continues it exactly. Choice: the state is a dictionary of
/// named `[Double]` arrays, which every rule can write and JSON stores exactly.
///
/// A rule sees, per (source, layer), the dot product with the target
/// gradient and the source gradient's squared norm, and per layer the target
/// gradient's squared norm (``StepStatistics``). Besides `weights[k][l]` it
/// may return a per-layer coefficient c_l on the target gradient
/// (``MixingWeights/targetCoefficients``), which the mix adds once; that is
/// how a projection onto the target gradient's normal plane (PCGrad-style)
/// still needs only the one model-size collective.
public protocol WeightingRule: Sendable {
  /// Whether the rule reads ‖g_k,l‖² of whole source gradients. Those are
  /// not sums over the shards of a split source batch, so for such a rule
  /// the shards of a split source are summed inside their group of ranks
  /// each step and only the group's first rank reports (``ShardGroups``):
  /// one extra model-size collective per split source.
  var needsWholeSourceNorms: Bool { get }
  /// Whether the rule reads the label scores (``StepStatistics/labelScores``,
  /// ``LabelSignature``). The trainer computes them only for such a rule.
  var usesLabelScores: Bool { get }
  /// Whether the rule also reads the class cosines (``StepStatistics/classCosines``,
  /// K·C² values in each step's exchange); only if ``usesLabelScores``.
  var usesClassCosines: Bool { get }
  /// For a rule with a label gate, the steps before the gate judges (its hold): a source closed in
  /// every later step is named at the end of the run; nil for a rule without one.
  var labelGateHold: Int? { get }
  /// The state carried from step to step (empty for a stateless rule).
  var state: [String: [Double]] { get set }
  /// This step's weights; `active[k]` is false for a source that is absent
  /// or non-finite this step (it must get weight 0).
  mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights
}

extension WeightingRule {
  public var needsWholeSourceNorms: Bool { false }
  public var usesLabelScores: Bool { false }
  public var usesClassCosines: Bool { false }
  public var labelGateHold: Int? { nil }
  public var state: [String: [Double]] {
    get { [:] }
    set {}
  }
}

/// The built-in rules (the paper's layer-wise GradMix, source-wise, uniform)
/// on the dot products d_k,l = ⟨g_T,l, g_k,l⟩; stateless.
public struct DotProductWeighting: WeightingRule {
  public let scheme: WeightingScheme

  public init(scheme: WeightingScheme) {
    self.scheme = scheme
  }

  public mutating func solve(_ statistics: StepStatistics, active: [Bool]) -> MixingWeights {
    LayerWeighting.solve(dots: statistics.dots, active: active, rule: scheme)
  }
}
