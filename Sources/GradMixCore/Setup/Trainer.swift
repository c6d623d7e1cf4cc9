import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// Runs GradMix (or a baseline) on every rank of a job.
///
/// One step, on every rank (``step(_:stopRequested:)``, docs/DESIGN.md has the
/// diagram): the target gradient g_T where this rank computes it; this rank's
/// source gradients; g_T shared; each (source, layer) measured against it;
/// one allreduce of the ``StepStatistics``; the weights from the
/// ``WeightingRule``; the learning-rate scale; the mix through the
/// ``MixingStrategy`` chosen at start-up; the same SGD step on every rank.
/// Bookkeeping lives in ``RunRecorder``, checkpoint files in ``Checkpointer``.
public final class Trainer {
  let config: TrainConfig
  let options: RunOptions
  let comm: Communicator
  let settings: Method.Settings
  let model: Sequential
  let parameters: FlatBuffer
  let velocity: FlatBuffer
  /// The model state (BatchNorm running statistics) and its per-step
  /// bookkeeping; see ``RunningStatistics``.
  let runningStatistics: RunningStatistics
  let mixed: FlatBuffer
  let targetGradient: FlatBuffer
  /// The meta batch's label signature Λ_T, when the rule reads them (``LabelSignature``).
  let targetSignature: LabelSignature?
  /// Over the trainable layers only (``ParameterLayout/restricted(to:)``): the
  /// statistics, weights and mix of a step never see a frozen layer.
  let mixer: GradientMixer
  /// `mixIndex[l]`: model layer l's index in `mixer.layout`, nil for a frozen layer.
  let mixIndex: [Int?]
  /// The ranges SGD updates, each with its `optimizer.layer_lr` multiplier;
  /// nil (the whole buffer at multiplier 1) without `model.freeze` and `layer_lr`.
  let updateRanges: [(range: Range<Int>, multiplier: Float)]?
  /// What `model.init` loaded (nil without it, and on `--resume`, which never reads the file).
  var initWeights: PretrainedWeights.Report?
  let sgd: SGD
  let schedule: LearningRateSchedule
  var alr: AdaptiveLearningRate
  var rule: any WeightingRule
  let strategy: MixingStrategy
  let workspace: Workspace
  public let sources: [SourceInfo]
  var slots: [SourceSlot] = []
  /// Which split sources sum their shards in a group (rules on whole-source norms).
  let groups: ShardGroups
  let target: TargetData
  let recorder: RunRecorder
  let checkpointer: Checkpointer
  var timers = PhaseTimers()
  /// The target's class names (an image folder's class folders, else "0", "1", ...), in run.json and checkpoints.
  let classNames: [String]
  /// The first step to run (non-zero after a resume).
  var startStep = 0
  /// Watches for divergence; checkpointed and restored with the run (``TrainerState/divergence``).
  var divergence = DivergenceMonitor()

  var isCoordinator: Bool { comm.rank == 0 }
  /// The number of layers the step mixes (the trainable ones).
  var layerCount: Int { mixer.layout.layerCount }

  /// Builds the model and this rank's data.
  /// - Throws: ``ConfigError`` or `DataError` if the data cannot be built.
  public init(config: TrainConfig, options: RunOptions, communicator: Communicator) throws {
    self.config = config
    self.options = options
    let instruments = InstrumentedCommunicator(wrapping: communicator, separatingWait: true)
    comm = options.instrument ? instruments : communicator
    settings = options.method.settings(
      steps: options.steps, targetAsSource: config.target.asSource ?? TrainConfig.Defaults.targetAsSource,
      hasPseudoLabels: config.pseudoLabels != nil,
      finetuneFraction: config.finetuneSourceFraction ?? TrainConfig.Defaults.finetuneSourceFraction,
      adaptiveLR: config.adaptiveLR?.enabled)
    var built = try Sequential(spec: config.model.spec, inputShape: Shape(config.sampleShape))
    built.freeze(try config.frozenLayers(built, file: options.configPath))
    model = built
    parameters = model.makeParameters(seed: Seeds.derive(options.seed, "init"))
    velocity = model.makeBuffer()
    runningStatistics = RunningStatistics(model: model)
    // Choice: every rank reads the weights file itself (no broadcast); the agreement check
    // after the first step compares the parameters of all ranks.
    if !options.resuming, let path = config.initPath(configFile: options.configPath) {
      let state = model.makeState()
      initWeights = try PretrainedWeights.load(
        from: path, model: model, parameters: parameters, state: state,
        skip: try config.initSkipLayers(model, file: options.configPath))
      runningStatistics.restore(from: state)
    }
    mixed = model.makeBuffer()
    targetGradient = model.makeBuffer()
    let trainable = built.trainableLayers
    let mixLayout = built.layout.restricted(to: trainable)
    mixer = GradientMixer(layout: mixLayout)
    mixIndex = built.layout.layerIndices.map { trainable.firstIndex(of: $0) }
    let multipliers = try config.layerLearningRates(built, file: options.configPath)
    updateRanges =
      trainable.count == built.layout.layerCount && multipliers.allSatisfy({ $0 == 1 })
      ? nil : trainable.map { (range: built.layout.layerRanges[$0], multiplier: multipliers[$0]) }
    sgd = SGD(
      momentum: config.optimizer.momentum ?? TrainConfig.Defaults.momentum,
      weightDecay: config.optimizer.weightDecay ?? TrainConfig.Defaults.weightDecay,
      nesterov: config.optimizer.nesterov ?? TrainConfig.Defaults.nesterov)
    schedule = try config.learningRateSchedule(file: options.configPath, steps: options.steps)
    alr = AdaptiveLearningRate(
      beta: config.adaptiveLR?.beta ?? TrainConfig.Defaults.adaptiveBeta,
      minScale: config.adaptiveLR?.minScale ?? TrainConfig.Defaults.adaptiveMinScale,
      maxScale: config.adaptiveLR?.maxScale ?? TrainConfig.Defaults.adaptiveMaxScale)
    let defaultBatch = config.batchSize ?? TrainConfig.Defaults.batchSize
    let metaBatch = config.target.batchSize ?? defaultBatch

    // Every rank agrees on the list of sources and their shards.
    var kinds: [SourceInfo.Kind] = settings.useSources ? config.sources.indices.map { .configured($0) } : []
    if settings.useTargetSource { kinds.append(.target) }
    if settings.pseudoLabels { kinds.append(.pseudo) }
    func batchSize(_ kind: SourceInfo.Kind) -> Int {
      switch kind {
      case .configured(let i): return config.sources[i].batchSize ?? defaultBatch
      case .target: return config.target.sourceBatchSize ?? defaultBatch
      case .pseudo: return config.pseudoLabels?.batchSize ?? defaultBatch
      }
    }
    let recomputes = options.targetGradient == .recompute && settings.needsTargetGradient
    let placement = SourcePlacement(
      sources: kinds.map { SourcePlacement.Demand(batchSize: batchSize($0), targetDerived: !$0.isConfigured) },
      worldSize: comm.worldSize, coordinatorOwnsSources: options.coordinatorOwnsSources,
      metaBatch: settings.needsTargetGradient ? metaBatch : 0, metaOnEveryRank: recomputes)
    if !placement.idleRanks.isEmpty {
      let busy = comm.worldSize - placement.idleRanks.count
      throw ConfigError(
        file: options.configPath, field: "sources",
        "\(kinds.count) source(s) cannot keep \(comm.worldSize) ranks busy, even with their batches split: rank(s) \(placement.idleRanks.map(String.init).joined(separator: ", ")) would compute nothing; run with at most \(busy) ranks\(options.coordinatorOwnsSources ? "" : " or add --coordinator-owns-sources")"
      )
    }
    let infos = kinds.enumerated().map { k, kind -> SourceInfo in
      let name: String
      switch kind {
      case .configured(let i): name = config.sourceName(i)
      case .target: name = "target"
      case .pseudo: name = "pseudo"
      }
      return SourceInfo(name: name, kind: kind, shards: placement.shards[k])
    }
    sources = infos
    for (field, asked) in [("label_gate", config.weighting?.labelGate), ("label_match", config.weighting?.labelMatch)]
    where asked == true && model.classifierInputCount == nil {
      throw ConfigError(
        file: options.configPath, field: "weighting.\(field)",
        "needs a model whose last layer is a dense layer (fcN), but '\(config.model.spec)' ends otherwise")
    }
    rule = options.method.makeRule(
      sources: infos.count, layers: mixLayout.layerCount, config: config,
      targetIndex: infos.firstIndex { $0.kind == .target }, labelGateAvailable: model.classifierInputCount != nil)
    groups = ShardGroups(shards: placement.shards, wholeSourceNorms: rule.needsWholeSourceNorms)
    if rule.usesLabelScores, let features = model.classifierInputCount {
      targetSignature = LabelSignature(classes: model.classCount, features: features)
    } else {
      targetSignature = nil
    }

    // The target data, where this rank needs it.
    let rank = communicator.rank
    let mine = infos.indices.filter { k in infos[k].shards.contains { $0.rank == rank } }
    let computesTarget = comm.rank == 0 || recomputes
    let needsSplit = computesTarget || mine.contains { !infos[$0].kind.isConfigured }
    let catalog = try DomainCatalog(dataRoot: options.dataRoot, custom: config.domains, sampleShape: config.sampleShape)
    guard catalog.sampleShape == model.inputShape.dims else {  // the batch buffers are sized by the model's input
      throw DataError.shapeMismatch(what: "model.input", data: "\(catalog.sampleShape)", model: model.inputShape.dims)
    }
    classNames = try catalog.classNames(of: config.target.domain) ?? (0..<config.classes).map(String.init)
    let split = needsSplit ? try RunData.target(config: config, catalog: catalog, dataSeed: options.dataSeed) : nil
    if let split {
      try InputShapeCheck.check(split.test, input: model.inputShape.dims, what: "the target", file: options.configPath)
    }
    let ownsPseudo = mine.contains { infos[$0].kind == .pseudo }
    target = TargetData(
      split: split,
      metaSampler: computesTarget
        ? split.map { BatchSampler($0.labelled, batchSize: metaBatch, seed: Seeds.derive(options.seed, "meta")) } : nil,
      metaBatch: metaBatch, evaluator: comm.rank == 0 || ownsPseudo ? Evaluator(model: model) : nil,
      pseudoLabeler: (comm.rank == 0 || ownsPseudo) && settings.pseudoLabels
        ? config.pseudoLabels.map {
          PseudoLabeler(threshold: $0.threshold, perClassCap: $0.perClassCap, classCount: config.classes)
        } : nil)
    if comm.rank == 0 && !options.resuming && FileManager.default.fileExists(atPath: options.outDir + "/run.json") {
      throw ConfigError(
        file: options.outDir, field: "--out",
        "already holds a run (run.json); continue it with --resume \(options.outDir) or choose another --out")
    }
    let log = try RunLog(directory: options.outDir, enabled: comm.rank == 0)
    recorder = RunRecorder(
      options: options, comm: comm, instruments: instruments, log: log, sources: infos,
      layerNames: mixer.layout.layerNames)
    recorder.hasLabelScores = rule.usesLabelScores
    if let w = initWeights, let path = config.initPath(configFile: options.configPath) {
      recorder.initWeights = ["path": path, "sha256": w.sha256, "skipped_layers": w.skippedLayers]
      recorder.transferLines.append(
        "init:       \(path) (sha256 \(w.sha256.prefix(12))), \(w.tensorsLoaded) tensors"
          + (w.skippedLayers.isEmpty ? "" : "; random init: \(w.skippedLayers.joined(separator: " "))"))
    }
    if trainable.count < built.layout.layerCount {
      let frozen = built.layout.layerIndices.filter { built.frozen[$0] }
      let count = frozen.reduce(0) { $0 + built.layout.layerRanges[$1].count }
      recorder.transferLines.append(
        "frozen:     \(frozen.map { built.layout.layerNames[$0] }.joined(separator: " ")) (\(count) of \(built.parameterCount) parameters; mixed and reduced: \(mixLayout.spans.count) span(s) of \(mixLayout.coveredCount))"
      )
    }
    if multipliers.contains(where: { $0 != 1 }) {
      recorder.transferLines.append(
        "layer lr:   "
          + built.layout.layerIndices.filter { multipliers[$0] != 1 }.map {
            "\(built.layout.layerNames[$0]) x\(multipliers[$0])"
          }.joined(separator: ", "))
    }
    checkpointer = Checkpointer(
      directory: options.outDir, model: model,
      extra: [
        "method": options.method.rawValue, "seed": String(options.seed), "data_seed": String(options.dataSeed),
        "config": options.configPath,
        "class_names": String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self),
      ].merging(options.provenance?.checkpointFields ?? [:]) { old, _ in old }
        .merging(initWeights.map { ["init_sha256": $0.sha256] } ?? [:]) { old, _ in old },
      keep: config.keepCheckpoints ?? TrainConfig.Defaults.keepCheckpoints)

    // This rank's sources (or shards).
    let augment = Augmentation(maxShift: config.augment?.maxShift ?? TrainConfig.Defaults.maxShift)
    var batches = [metaBatch]
    for k in mine {
      let info = infos[k]
      guard let shard = info.shards.first(where: { $0.rank == rank }) else { continue }
      let b = batchSize(info.kind)
      let sampler: BatchSampler?
      var mask: ClassMask? = nil
      switch info.kind {
      case .configured(let i):
        let data = try RunData.source(
          i, config: config, catalog: catalog, dataSeed: options.dataSeed, file: options.configPath)
        try InputShapeCheck.check(
          data.set, input: model.inputShape.dims, what: "source \(info.name)", file: options.configPath)
        sampler = BatchSampler(data.set, batchSize: b, seed: Seeds.derive(options.seed, "source", k), augment: augment)
        mask = data.mask
      case .target:
        guard let split else { preconditionFailure("A rank with the target source holds the target data.") }
        sampler = BatchSampler(
          split.labelled, batchSize: b, seed: Seeds.derive(options.seed, "target-source"),
          augment: augment)
      case .pseudo:
        sampler = nil  // until the first pseudo-labelling
      }
      slots.append(
        SourceSlot(
          index: k, info: info, sampler: sampler, mask: mask, batchSize: b, rows: shard.rows,
          reports: groups.reports(source: k, rank: rank), model: model, seed: options.seed))
      slots[slots.count - 1].signature = targetSignature.map {
        LabelSignature(classes: $0.classes, features: $0.features)
      }
      batches.append(b)
    }
    workspace = model.makeWorkspace(maxBatch: batches.max() ?? metaBatch)

    // The mixing strategy, once.
    // Choice: no pipelining while shards are summed in groups (the group sums would interleave with the
    // per-layer collectives in a different order on different ranks); the table says so.
    if options.overlap && options.mixing == .allreduce && rule.isLayerSeparable && groups.summed.isEmpty {
      strategy = PipelinedMixing(comm: comm, mixer: mixer, mixed: mixed, targetGradient: targetGradient, rule: rule)
    } else if options.mixing == .gather && comm.worldSize > 1 {
      strategy = GatherMixing(
        comm: comm, mixer: mixer, mixed: mixed, targetGradient: targetGradient,
        shards: groups.reporting)
    } else {
      strategy = AllreduceMixing(comm: comm, mixer: mixer, mixed: mixed, targetGradient: targetGradient)
    }
  }

  /// The strategy's name for the start-up table.
  var strategyName: String {
    switch strategy {
    case is PipelinedMixing: return "allreduce, pipelined by layer (--overlap)"
    case is GatherMixing: return "gather"
    default:
      guard options.overlap else { return "allreduce" }
      return options.mixing == .allreduce && rule.isLayerSeparable
        ? "allreduce (--overlap is not pipelined while split sources sum their shards in groups)"
        : "allreduce (--overlap needs the allreduce protocol and a layer-wise or uniform rule)"
    }
  }
}

extension SourceInfo.Kind {
  var isConfigured: Bool { if case .configured = self { return true } else { return false } }
}

/// A failure of the distributed run itself.
public enum TrainingError: Error, CustomStringConvertible {
  case diverged(step: Int, rank: Int, detail: String)
  case layoutMismatch(detail: String)

  public var description: String {
    switch self {
    case .diverged(let t, let r, let d):
      return "parameters diverged across ranks at step \(t): rank \(r) differs (\(d))"
    case .layoutMismatch(let d): return "the ranks built different models or source lists: \(d)"
    }
  }
}

func isCoordinatorRank(_ comm: Communicator) -> Bool { comm.rank == 0 }
