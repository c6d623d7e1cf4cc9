import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// The start-up of a run, one job per function, called in this order by
/// ``Trainer/init(config:options:communicator:)``: the network and its
/// update, the placement of the sources, the weighting rule, the data, the
/// records, the source slots and the mixing strategy. Every rank runs it
/// with the same config, and all ranks agree on everything but their own
/// data (no communication).
enum TrainingSetup {
  /// The network with `model.freeze` applied, its parameters (seeded, or
  /// `model.init`'s weights) and its model state.
  static func network(config: TrainConfig, options: RunOptions) throws -> (
    network: Sequential, parameters: FlatBuffer, statistics: RunningStatistics,
    initWeights: PretrainedWeights.Report?
  ) {
    var network = try Sequential(spec: config.model.spec, inputShape: Shape(config.sampleShape))
    network.freeze(try config.frozenLayers(network, file: options.configPath))
    let parameters = network.makeParameters(seed: Seeds.derive(options.seed, "init"))
    let statistics = RunningStatistics(model: network)
    // Choice: every rank reads the weights file itself (no broadcast); the agreement check
    // after the first step compares the parameters of all ranks.
    var report: PretrainedWeights.Report?
    if !options.resuming, let path = config.initPath(configFile: options.configPath) {
      let state = network.makeState()
      report = try PretrainedWeights.load(
        from: path, model: network, parameters: parameters, state: state,
        skip: try config.initSkipLayers(network, file: options.configPath))
      statistics.restore(from: state)
    }
    return (network, parameters, statistics, report)
  }

  /// The mixer over the trainable layers and the parameter update (SGD, the
  /// schedule, `optimizer.layer_lr`'s multipliers, the adaptive learning rate).
  static func update(config: TrainConfig, options: RunOptions, network: Sequential) throws -> (
    mixer: GradientMixer, update: ParameterUpdate, multipliers: [Float]
  ) {
    let trainable = network.trainableLayers
    let mixer = GradientMixer(layout: network.layout.restricted(to: trainable))
    let multipliers = try config.layerLearningRates(network, file: options.configPath)
    let ranges =
      trainable.count == network.layout.layerCount && multipliers.allSatisfy({ $0 == 1 })
      ? nil : trainable.map { (range: network.layout.layerRanges[$0], multiplier: multipliers[$0]) }
    let sgd = SGD(
      momentum: config.optimizer.momentum ?? TrainConfig.Defaults.momentum,
      weightDecay: config.optimizer.weightDecay ?? TrainConfig.Defaults.weightDecay,
      nesterov: config.optimizer.nesterov ?? TrainConfig.Defaults.nesterov)
    let schedule = try config.learningRateSchedule(file: options.configPath, steps: options.steps)
    let alr = AdaptiveLearningRate(
      beta: config.adaptiveLR?.beta ?? TrainConfig.Defaults.adaptiveBeta,
      minScale: config.adaptiveLR?.minScale ?? TrainConfig.Defaults.adaptiveMinScale,
      maxScale: config.adaptiveLR?.maxScale ?? TrainConfig.Defaults.adaptiveMaxScale)
    let update = ParameterUpdate(
      sgd: sgd, velocity: network.makeBuffer(), schedule: schedule, baseRate: config.optimizer.lr, ranges: ranges,
      alr: alr)
    return (mixer, update, multipliers)
  }

  /// The batch size of a source of this kind.
  static func batchSize(_ kind: SourceInfo.Kind, config: TrainConfig) -> Int {
    let defaultBatch = config.batchSize ?? TrainConfig.Defaults.batchSize
    switch kind {
    case .configured(let i): return config.sources[i].batchSize ?? defaultBatch
    case .target: return config.target.sourceBatchSize ?? defaultBatch
    case .pseudo: return config.pseudoLabels?.batchSize ?? defaultBatch
    }
  }

  /// The meta batch size of the target gradient.
  static func metaBatch(config: TrainConfig) -> Int {
    config.target.batchSize ?? config.batchSize ?? TrainConfig.Defaults.batchSize
  }

  /// Every source of the method and the ranks that compute it (``SourcePlacement``);
  /// every rank computes the same list. Throws if some rank would compute nothing.
  static func sources(
    config: TrainConfig, options: RunOptions, settings: Method.Settings, worldSize: Int
  ) throws -> [SourceInfo] {
    var kinds: [SourceInfo.Kind] = settings.useSources ? config.sources.indices.map { .configured($0) } : []
    if settings.useTargetSource { kinds.append(.target) }
    if settings.pseudoLabels { kinds.append(.pseudo) }
    let placement = SourcePlacement(
      sources: kinds.map {
        SourcePlacement.Demand(batchSize: batchSize($0, config: config), targetDerived: !$0.isConfigured)
      },
      worldSize: worldSize, coordinatorOwnsSources: options.coordinatorOwnsSources,
      metaBatch: settings.needsTargetGradient ? metaBatch(config: config) : 0,
      metaOnEveryRank: recomputesTarget(options, settings))
    if !placement.idleRanks.isEmpty {
      let busy = worldSize - placement.idleRanks.count
      throw ConfigError(
        file: options.configPath, field: "sources",
        "\(kinds.count) source(s) cannot keep \(worldSize) ranks busy, even with their batches split: rank(s) \(placement.idleRanks.map(String.init).joined(separator: ", ")) would compute nothing; run with at most \(busy) ranks\(options.coordinatorOwnsSources ? "" : " or add --coordinator-owns-sources")"
      )
    }
    return kinds.enumerated().map { k, kind -> SourceInfo in
      let name: String
      switch kind {
      case .configured(let i): name = config.sourceName(i)
      case .target: name = "target"
      case .pseudo: name = "pseudo"
      }
      return SourceInfo(name: name, kind: kind, shards: placement.shards[k])
    }
  }

  /// Whether every rank computes g_T itself (`--target-gradient recompute`, for a rule that needs it).
  static func recomputesTarget(_ options: RunOptions, _ settings: Method.Settings) -> Bool {
    options.targetGradient == .recompute && settings.needsTargetGradient
  }

  /// Whether rank `rank` loads the target's split: rank 0 (it computes g_T), every rank that
  /// recomputes g_T, and a rank holding the labelled target set or pseudo-labels as a source.
  static func loadsTarget(
    rank: Int, options: RunOptions, settings: Method.Settings, mine: [SourceInfo]
  ) -> Bool {
    rank == 0 || recomputesTarget(options, settings) || mine.contains { !$0.kind.isConfigured }
  }

  /// What `options.method` turns on for a run of `config` (the config's `target.as_source`,
  /// `pseudo_labels`, `finetune_source_fraction` and `adaptive_lr.enabled`, defaults where unset).
  static func settings(config: TrainConfig, options: RunOptions) -> Method.Settings {
    options.method.settings(
      steps: options.steps, targetAsSource: config.target.asSource ?? TrainConfig.Defaults.targetAsSource,
      hasPseudoLabels: config.pseudoLabels != nil,
      finetuneFraction: config.finetuneSourceFraction ?? TrainConfig.Defaults.finetuneSourceFraction,
      adaptiveLR: config.adaptiveLR?.enabled)
  }

  /// The method's weighting rule over `layers` trainable layers; throws if the
  /// config asks for label scores that the model cannot give.
  static func rule(
    config: TrainConfig, options: RunOptions, network: Sequential, sources: [SourceInfo], layers: Int
  ) throws -> any WeightingRule {
    for (field, asked) in [("label_gate", config.weighting?.labelGate), ("label_match", config.weighting?.labelMatch)]
    where asked == true && network.classifierInputCount == nil {
      throw ConfigError(
        file: options.configPath, field: "weighting.\(field)",
        "needs a model whose last layer is a dense layer (fcN), but '\(config.model.spec)' ends otherwise")
    }
    return options.method.makeRule(
      sources: sources.count, layers: layers, config: config,
      targetIndex: sources.firstIndex { $0.kind == .target },
      labelGateAvailable: network.classifierInputCount != nil)
  }

  /// The mixing protocol of `--comm`, once.
  static func strategy(
    options: RunOptions, comm: Communicator, mixer: GradientMixer, groups: ShardGroups
  ) -> any MixingStrategy {
    options.mixing == .gather && comm.worldSize > 1
      ? GatherMixing(comm: comm, mixer: mixer, shards: groups.reporting)
      : AllreduceMixing(comm: comm, mixer: mixer)
  }
}

extension SourceInfo.Kind {
  var isConfigured: Bool { if case .configured = self { return true } else { return false } }
}
