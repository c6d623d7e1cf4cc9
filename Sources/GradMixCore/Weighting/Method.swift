/// The training methods `gradmix train --method` selects. Every method runs
/// in the same trainer with the same network, data, steps and seeds; they
/// differ only in which gradients are mixed and how.
public enum Method: String, CaseIterable, Codable, Sendable {
  /// The labelled target set alone.
  case targetOnly = "target-only"
  /// The sources alone with equal weights (no target labels).
  case sourceOnly = "source-only"
  /// Sources (equal weights) for the first part of training, then the target alone.
  case finetune
  /// Joint training: every source and the labelled target set with equal weights.
  case uniform
  /// One look-ahead weight per source instead of per layer (the
  /// learning-to-reweight family); otherwise as `gradmix`.
  case l2rw
  /// GradMix without pseudo-labels.
  case gradmixNoPL = "gradmix-no-pl"
  /// Equal shares among the sources a label gate leaves open, each layer
  /// that conflicts with the target gradient projected, and pseudo-labels
  /// (``GradMixWeighting``, docs/DESIGN.md); the adaptive learning rate only
  /// with `adaptive_lr.enabled: true`.
  case gradmix
  /// The paper's method: its layer-wise rule exactly as stated, with the
  /// adaptive learning rate (unless `adaptive_lr.enabled: false`).
  case gradmixPaper = "gradmix-paper"
  /// Source weights from the gated cosine similarity (Du et al. 2018); otherwise as `gradmix`.
  case cosine
  /// Source weights by mirror descent on the cosine similarity (TAWT, Chen et al. 2022); otherwise as `gradmix`.
  case tawt
  /// Equal weights with conflicting layers projected onto the target gradient's
  /// normal plane (PCGrad, Yu et al. 2020, adapted); otherwise as `gradmix`.
  case pcgradTarget = "pcgrad-target"

  /// The methods the task suite compares (scripts/run-suite.sh, choose_lr.py and suite_report.py
  /// read them from `gradmix info --methods --suite`), in its table order. Choice: the joint
  /// baseline, the one-weight-per-source and peer rules, the paper's rule, then ours; the
  /// no-transfer and source-only methods belong to the digits benchmark (scripts/run-benchmark.sh).
  public static let suite: [Method] = [.uniform, .l2rw, .cosine, .tawt, .pcgradTarget, .gradmixPaper, .gradmix]

  /// Methods that were removed, with what to use instead (the rule clean-up
  /// of 2026-12-05, docs/EXPERIMENTS.md).
  public static let removed = [
    "gradmix-no-alr":
      "gradmix-no-alr was removed 2026-12-05: it equals gradmix (whose adaptive learning rate is off by default)"
  ]

  /// What a method turns on.
  public struct Settings: Equatable, Sendable {
    public var rule: WeightingScheme
    public var useSources: Bool
    public var useTargetSource: Bool
    public var adaptiveLearningRate: Bool
    public var pseudoLabels: Bool
    /// For finetune: the step at which training switches from sources to target.
    public var switchStep: Int?
    /// Whether the step needs the target (meta) gradient.
    public var needsTargetGradient: Bool { rule != .uniform }
  }

  /// The settings for a run of `steps` steps. `targetAsSource` is the
  /// config's `target.as_source` (default true), `hasPseudoLabels` whether
  /// the config has a `pseudo_labels` block, and `adaptiveLR` the config's
  /// `adaptive_lr.enabled` (nil: the method's default).
  ///
  /// Choice: the adaptive learning rate is off by default for every
  /// weighting rule but `gradmix-paper` (the paper's method in full): the
  /// per-step usefulness is heavy-tailed, so its scale mostly sits at a clip
  /// and acts as noise on the learning rate; switched off, `gradmix` gained
  /// on the suite's validation split (docs/DESIGN.md, "Adaptive learning
  /// rate"), and the peer rules follow `gradmix` so that a comparison still
  /// isolates the weighting rule.
  public func settings(
    steps: Int, targetAsSource: Bool, hasPseudoLabels: Bool, finetuneFraction: Double, adaptiveLR: Bool? = nil
  ) -> Settings {
    let row = profile
    // A weighting rule takes the adaptive learning rate (the config's, else the method's default);
    // the uniform methods never do.
    return Settings(
      rule: row.rule, useSources: row.sources, useTargetSource: row.targetSource ?? targetAsSource,
      adaptiveLearningRate: row.rule != .uniform && (adaptiveLR ?? (self == .gradmixPaper)),
      pseudoLabels: row.pseudoLabels && hasPseudoLabels,
      switchStep: self == .finetune ? max(1, Int(Double(steps) * finetuneFraction)) : nil)
  }

  /// The method table: the weighting rule, whether the sources train, whether the labelled
  /// target set trains as one more source (nil: the config's `target.as_source`), and whether
  /// the config's pseudo-labels are used.
  var profile: (rule: WeightingScheme, sources: Bool, targetSource: Bool?, pseudoLabels: Bool) {
    switch self {
    case .targetOnly: return (.uniform, false, true, false)
    case .sourceOnly: return (.uniform, true, false, false)
    case .finetune: return (.uniform, true, true, false)
    case .uniform: return (.uniform, true, true, false)
    case .l2rw: return (.sourceWise, true, nil, true)
    case .gradmixNoPL: return (.layerWise, true, nil, false)
    case .gradmix: return (.layerWise, true, nil, true)
    case .gradmixPaper: return (.layerWise, true, nil, true)
    case .cosine: return (.sourceWise, true, nil, true)
    case .tawt: return (.sourceWise, true, nil, true)
    case .pcgradTarget: return (.layerWise, true, nil, true)
    }
  }
}
