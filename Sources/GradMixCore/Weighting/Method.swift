import GradMixRecords

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
  /// learning-to-reweight family); otherwise as `gated-pcgrad`.
  case l2rw
  /// `gated-pcgrad` without pseudo-labels.
  case gatedPCGradNoPL = "gated-pcgrad-no-pl"
  /// The default method: a label gate closes the sources whose labels
  /// disagree with the target's, each open source gets 1/K of the step (K active),
  /// each layer that conflicts with the target gradient is projected, and
  /// pseudo-labels (``GatedPCGradWeighting``, docs/DESIGN.md); the adaptive
  /// learning rate only with `adaptive_lr.enabled: true`. Not a per-layer
  /// weighting of sources, so not named `gradmix` (issue #26; called
  /// `gradmix` before 2026-12-05).
  case gatedPCGrad = "gated-pcgrad"
  /// The paper's method (Li et al., WACV 2020): its layer-wise rule exactly
  /// as stated, with the adaptive learning rate (unless
  /// `adaptive_lr.enabled: false`); called `gradmix-paper` before 2026-12-05.
  case gradmix
  /// Source weights from the gated cosine similarity (Du et al. 2018); otherwise as `gated-pcgrad`.
  case cosine
  /// Source weights by mirror descent on the cosine similarity (TAWT, Chen et al. 2022); otherwise as `gated-pcgrad`.
  case tawt
  /// Equal weights with conflicting layers projected onto the target gradient's
  /// normal plane (PCGrad, Yu et al. 2020, adapted); otherwise as `gated-pcgrad`.
  case pcgradTarget = "pcgrad-target"

  /// The methods the task suite compares (scripts/run-suite.sh, choose_lr.py and suite_report.py
  /// read them from `gradmix info --methods --suite`), in its table order. Choice: the joint
  /// baseline, the one-weight-per-source and peer rules, the paper's rule, then ours; the
  /// no-transfer and source-only methods belong to the digits benchmark (scripts/run-benchmark.sh).
  public static let suite: [Method] = [.uniform, .l2rw, .cosine, .tawt, .pcgradTarget, .gradmix, .gatedPCGrad]

  /// Methods that were removed or renamed, with what to use instead (the
  /// rule clean-up and the names of 2026-12-05, docs/EXPERIMENTS.md). A
  /// name that was renamed to another method's old name (`gradmix`) is not
  /// here: it is a method again.
  public static let removed = [
    "gradmix-no-alr":
      "gradmix-no-alr was removed 2026-12-05: it equals gated-pcgrad (whose adaptive learning rate is off by default)",
    "gradmix-paper": "gradmix-paper was renamed 2026-12-05: the paper's method is now called gradmix",
    "gradmix-no-pl": "gradmix-no-pl was renamed 2026-12-05: it is now called gated-pcgrad-no-pl",
  ]

  /// The methods by the names run.json recorded before 2026-12-05, where
  /// they differ (``ResumeInfo``): `gradmix` was then the gated PCGrad rule
  /// and `gradmix-paper` the paper's method.
  public static let formerNames: [String: Method] = MethodNames.former.compactMapValues(Method.init(rawValue:))

  /// The date of the current method names, recorded in run.json as
  /// `method_names` (a run.json without it used the ``formerNames``).
  public static let namesDate = MethodNames.date

  /// The one-line message for a name that is not a method: the known names,
  /// and what a removed or renamed one is now (``removed``).
  public static func unknownMessage(_ name: String) -> String {
    "unknown method '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))"
      + (removed[name].map { "; \($0)" } ?? "")
  }

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
  /// weighting rule but `gradmix` (the paper's method in full): the
  /// per-step usefulness is heavy-tailed, so its scale mostly sits at a clip
  /// and acts as noise on the learning rate; switched off, `gated-pcgrad` gained
  /// on the suite's validation split (docs/DESIGN.md, "Adaptive learning
  /// rate"), and the peer rules follow `gated-pcgrad` so that a comparison still
  /// isolates the weighting rule.
  public func settings(
    steps: Int, targetAsSource: Bool, hasPseudoLabels: Bool, finetuneFraction: Double, adaptiveLR: Bool? = nil
  ) -> Settings {
    let row = profile
    // A weighting rule takes the adaptive learning rate (the config's, else the method's default);
    // the uniform methods never do.
    return Settings(
      rule: row.rule, useSources: row.sources, useTargetSource: row.targetSource ?? targetAsSource,
      adaptiveLearningRate: row.rule != .uniform && (adaptiveLR ?? (self == .gradmix)),
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
    case .gatedPCGradNoPL: return (.layerWise, true, nil, false)
    case .gatedPCGrad: return (.layerWise, true, nil, true)
    case .gradmix: return (.layerWise, true, nil, true)
    case .cosine: return (.sourceWise, true, nil, true)
    case .tawt: return (.sourceWise, true, nil, true)
    case .pcgradTarget: return (.layerWise, true, nil, true)
    }
  }
}
