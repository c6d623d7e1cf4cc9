import Yams

extension TrainConfig {
  // MARK: - The resolved config

  /// The config as the run uses it: the run's method, seeds, steps and data
  /// root filled in, and every default the trainer applies written out, so
  /// `config.resolved.yaml` answers "what did this run use?" without reading
  /// the code. It loads back as a config (``parse(yaml:file:)``).
  public func resolved(options: RunOptions) -> TrainConfig {
    var c = self
    let batch = c.batchSize ?? 32
    c.method = options.method.rawValue
    c.seed = options.seed
    c.dataSeed = options.dataSeed
    c.steps = options.steps
    c.dataRoot = options.dataRoot
    c.batchSize = batch
    c.model.input = c.model.input ?? [3, 28, 28]
    c.model.initPath = initPath(configFile: options.configPath)  // absolute: the resolved file lives elsewhere
    c.model.initSkip = c.model.initSkip ?? []
    c.model.freeze = c.model.freeze ?? []
    c.optimizer.layerLR = c.optimizer.layerLR ?? [:]
    for i in c.sources.indices {
      c.sources[i].name = sourceName(i)
      c.sources[i].split = c.sources[i].split ?? .train
      c.sources[i].batchSize = c.sources[i].batchSize ?? batch
    }
    c.target.split = c.target.split ?? .test
    c.target.batchSize = c.target.batchSize ?? batch
    c.target.asSource = c.target.asSource ?? true
    c.target.sourceBatchSize = c.target.sourceBatchSize ?? batch
    c.optimizer.momentum = c.optimizer.momentum ?? 0.9
    c.optimizer.weightDecay = c.optimizer.weightDecay ?? 0
    c.optimizer.nesterov = c.optimizer.nesterov ?? false
    c.optimizer.schedule = c.optimizer.schedule ?? Schedule(kind: "constant")
    c.adaptiveLR = AdaptiveLR(
      beta: c.adaptiveLR?.beta ?? 0.9, minScale: c.adaptiveLR?.minScale ?? 0.5,
      maxScale: c.adaptiveLR?.maxScale ?? 2)
    if var p = c.pseudoLabels {
      p.batchSize = p.batchSize ?? batch
      c.pseudoLabels = p
    }
    c.finetuneSourceFraction = c.finetuneSourceFraction ?? 0.5
    c.augment = c.augment ?? Augment(maxShift: 0)
    c.weightScore = c.weightScore ?? "dot"
    let d = GradMixWeighting.Defaults.self
    c.weighting = Weighting(
      smoothing: c.weighting?.smoothing ?? d.smoothing, layerShare: c.weighting?.layerShare ?? d.layerShare,
      score: c.weighting?.score ?? d.score.rawValue, confidence: c.weighting?.confidence ?? d.confidence,
      sharpness: c.weighting?.sharpness ?? d.sharpness, prior: c.weighting?.prior ?? d.prior.rawValue,
      gate: c.weighting?.gate ?? d.gate, tawtRate: c.weighting?.tawtRate ?? TAWTWeighting.defaultRate)
    c.evalEvery = c.evalEvery ?? max(1, options.steps / 10)
    c.logEvery = c.logEvery ?? max(1, options.steps / 50)
    c.keepCheckpoints = c.keepCheckpoints ?? 3
    return c
  }

  /// This config as YAML, `domains:` included.
  ///
  /// `Float` values are written with the shortest digits that read back as
  /// the same `Float` (`0.02`, not the encoder's `1.99999995529652e-2`).
  public func yaml() throws -> String {
    var node = try YAMLEncoder().encode(self).yamlNode()
    if !domains.isEmpty, case .mapping(var m) = node {
      m[Node("domains")] = try Node(YAMLEncoder().encode(domains).yamlNode())
      node = .mapping(m)
    }
    return try Yams.serialize(node: TrainConfig.shortFloats(node))
  }

  private static func shortFloats(_ node: Node) -> Node {
    switch node {
    case .scalar(let s):
      // The encoder writes a Float through Double with 15 significant digits.
      guard s.string.contains(where: { $0 == "." || $0 == "e" }), let d = Double(s.string), d.isFinite,
        abs(Double(Float(d)) - d) <= 1e-14 * abs(d)
      else { return node }
      return Node(Float(d).description, s.tag, s.style)
    case .mapping(let m):
      return .mapping(Node.Mapping(m.map { ($0.key, shortFloats($0.value)) }, m.tag, m.style))
    case .sequence(let q):
      return .sequence(Node.Sequence(q.map(shortFloats), q.tag, q.style))
    default:
      return node
    }
  }
}

private extension String {
  /// This YAML text as a node (an empty mapping if empty).
  func yamlNode() throws -> Node {
    try Yams.compose(yaml: self) ?? .mapping(Node.Mapping([]))
  }
}
