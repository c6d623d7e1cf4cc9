extension Method {
  /// The weighting rule of a run of this method over `sources` sources and
  /// `layers` layers (a new rule with no state).
  ///
  /// `gated-pcgrad` (and its ablation `gated-pcgrad-no-pl`) use
  /// ``GatedPCGradWeighting`` with the config's `weighting:` settings (defaults
  /// ``GatedPCGradWeighting/Defaults``); `gradmix` the paper's rule; the
  /// peer methods their own rules; the rest ``DotProductWeighting``.
  /// `labelGateAvailable` is false for a model whose last layer is not
  /// dense: the default label gate is then off (an explicit
  /// `weighting.label_gate: true` is refused by the trainer).
  public func makeRule(
    sources: Int, layers: Int, config: TrainConfig, targetIndex: Int? = nil, labelGateAvailable: Bool = true
  ) -> any WeightingRule {
    let w = config.weighting
    let d = GatedPCGradWeighting.Defaults.self
    switch self {
    case .gatedPCGrad, .gatedPCGradNoPL:
      return GatedPCGradWeighting(
        sources: sources, smoothing: w?.smoothing ?? d.smoothing, targetIndex: targetIndex, hold: w?.hold ?? d.hold,
        labelGate: (w?.labelGate ?? d.labelGate) && labelGateAvailable,
        labelConfidence: w?.labelConfidence ?? d.labelConfidence,
        labelMatch: w?.labelMatch ?? d.labelMatch(classes: config.classes))
    case .cosine:
      return CosineWeighting()
    case .tawt:
      return TAWTWeighting(sources: sources, learningRate: w?.tawtRate ?? TAWTWeighting.defaultRate)
    case .pcgradTarget:
      return PCGradTargetWeighting()
    case .gradmix, .targetOnly, .sourceOnly, .finetune, .uniform, .l2rw:
      let scheme = settings(steps: 1, targetAsSource: true, hasPseudoLabels: false, finetuneFraction: 0.5).rule
      return DotProductWeighting(scheme: scheme)
    }
  }
}
