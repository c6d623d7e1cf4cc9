import GradMixData
import GradMixEngine
import Yams

extension TrainConfig {
  // MARK: - The defaults, stated once

  /// The default of every optional key the trainer reads. The resolved
  /// config (``resolved(options:)``), the trainer and the memory estimate
  /// read them here; the weighting rules' own defaults live with the rules
  /// (``GatedPCGradWeighting/Defaults``, ``TAWTWeighting/defaultRate``).
  public enum Defaults {
    public static let seed: UInt64 = 1
    public static let method = Method.gatedPCGrad
    public static let batchSize = 32
    public static var input: [Int] { DomainCatalog.defaultSampleShape }
    public static let sourceSplit = Split.train
    public static let targetSplit = Split.test
    public static let targetAsSource = true
    public static let momentum: Float = 0.9
    public static let weightDecay: Float = 0
    public static let nesterov = false
    public static let scheduleKind = "constant"
    /// `{kind: step}`'s factor and `{kind: cosine}`'s warm-up and floor.
    public static let scheduleGamma: Float = 0.1
    public static let scheduleWarmup = 0
    public static let scheduleMinFactor: Float = 0
    public static let adaptiveBeta = 0.9
    public static let adaptiveMinScale = 0.5
    public static let adaptiveMaxScale = 2.0
    public static let finetuneSourceFraction = 0.5
    public static let maxShift = 0
    public static let keepCheckpoints = 3
    /// An evaluation every tenth of the run.
    public static func evalEvery(steps: Int) -> Int { max(1, steps / 10) }
    /// A metrics record every fiftieth of the run.
    public static func logEvery(steps: Int) -> Int { max(1, steps / 50) }
  }

  // MARK: - The resolved config

  /// The config as the run uses it: the run's method, seeds, steps and data
  /// root filled in, and every default the trainer applies written out, so
  /// `config.resolved.yaml` answers "what did this run use?" without reading
  /// the code. It loads back as a config (``parse(yaml:file:)``) and keeps
  /// every key the file set (tested over every key of ``KeySchema``).
  /// Keys with no default stay absent: `target.test_split`,
  /// `target.validation`, `target.classes`, `sources[i].classes`,
  /// `.label_map` and `.limit`, `checkpoint_every`, `pseudo_labels` (no
  /// block: no pseudo-labels) and a schedule's `every` (required by `step`).
  public func resolved(options: RunOptions) -> TrainConfig {
    var c = self
    let batch = c.batchSize ?? Defaults.batchSize
    c.method = options.method.rawValue
    c.seed = options.seed
    c.dataSeed = options.dataSeed
    c.steps = options.steps
    c.dataRoot = options.dataRoot
    c.batchSize = batch
    c.model.input = c.model.input ?? Defaults.input
    c.model.initPath = initPath(configFile: options.configPath)  // absolute: the resolved file lives elsewhere
    c.model.initSkip = c.model.initSkip ?? []
    c.model.freeze = c.model.freeze ?? []
    c.optimizer.layerLR = c.optimizer.layerLR ?? [:]
    for i in c.sources.indices {
      c.sources[i].name = sourceName(i)
      c.sources[i].split = c.sources[i].split ?? Defaults.sourceSplit
      c.sources[i].batchSize = c.sources[i].batchSize ?? batch
    }
    c.target.split = c.target.split ?? Defaults.targetSplit
    c.target.batchSize = c.target.batchSize ?? batch
    c.target.asSource = c.target.asSource ?? Defaults.targetAsSource
    c.target.sourceBatchSize = c.target.sourceBatchSize ?? batch
    c.optimizer.momentum = c.optimizer.momentum ?? Defaults.momentum
    c.optimizer.weightDecay = c.optimizer.weightDecay ?? Defaults.weightDecay
    c.optimizer.nesterov = c.optimizer.nesterov ?? Defaults.nesterov
    var schedule = c.optimizer.schedule ?? Schedule(kind: Defaults.scheduleKind)
    if schedule.kind == "step" { schedule.gamma = schedule.gamma ?? Defaults.scheduleGamma }
    if schedule.kind == "cosine" {
      schedule.warmup = schedule.warmup ?? Defaults.scheduleWarmup
      schedule.minFactor = schedule.minFactor ?? Defaults.scheduleMinFactor
    }
    c.optimizer.schedule = schedule
    let settings = TrainingSetup.settings(config: c, options: options)
    c.adaptiveLR = AdaptiveLR(
      enabled: c.adaptiveLR?.enabled ?? settings.adaptiveLearningRate,
      beta: c.adaptiveLR?.beta ?? Defaults.adaptiveBeta, minScale: c.adaptiveLR?.minScale ?? Defaults.adaptiveMinScale,
      maxScale: c.adaptiveLR?.maxScale ?? Defaults.adaptiveMaxScale)
    if var p = c.pseudoLabels {
      p.batchSize = p.batchSize ?? batch
      c.pseudoLabels = p
    }
    c.finetuneSourceFraction = c.finetuneSourceFraction ?? Defaults.finetuneSourceFraction
    c.augment = c.augment ?? Augment(maxShift: Defaults.maxShift)
    let d = GatedPCGradWeighting.Defaults.self
    let w = c.weighting
    // The label gate is off by default for a model whose last layer is not dense (Method.makeRule).
    let dense =
      (try? Sequential(spec: c.model.spec, inputShape: Shape(c.model.input ?? Defaults.input)))?
      .classifierInputCount != nil
    let labelGate = w?.labelGate ?? (d.labelGate && dense)
    c.weighting = Weighting(
      smoothing: w?.smoothing ?? d.smoothing, hold: w?.hold ?? d.hold, labelGate: labelGate,
      labelConfidence: w?.labelConfidence ?? d.labelConfidence,
      labelMatch: w?.labelMatch ?? (labelGate && d.labelMatch(classes: c.classes)),
      tawtRate: w?.tawtRate ?? TAWTWeighting.defaultRate)
    c.evalEvery = c.evalEvery ?? Defaults.evalEvery(steps: options.steps)
    c.logEvery = c.logEvery ?? Defaults.logEvery(steps: options.steps)
    c.keepCheckpoints = c.keepCheckpoints ?? Defaults.keepCheckpoints
    return c
  }

  /// This config as YAML, `domains:` included.
  ///
  /// `Float` values are written with the shortest digits that read back as
  /// the same `Float` (`0.02`, not the encoder's `1.99999995529652e-2`), and
  /// `Double` values as Swift prints them (`0.9`, not `9e-1`).
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
      // The encoder writes a Float through Double with 15 significant digits, and a Double in
      // exponent form (`9e-1`); both get the shortest plain digits of their own type.
      guard s.string.contains(where: { $0 == "." || $0 == "e" }), let d = Double(s.string), d.isFinite else {
        return node
      }
      let isFloat = abs(Double(Float(d)) - d) <= 1e-14 * abs(d)
      return Node(isFloat ? Float(d).description : d.description, s.tag, s.style)
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
