import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// Runs GradMix (or a baseline) on every rank of a job.
///
/// One step, on every rank (docs/DESIGN.md has the diagram):
/// 1. the target gradient g_T of a labelled target batch: computed by the
///    coordinator and broadcast, or computed by every rank (``TargetGradientMode``);
/// 2. for each source this rank owns: a batch, forward/backward with the
///    source's class mask into its own gradient buffer, and one dot product
///    per layer with g_T;
/// 3. one allreduce of the K×L dot products (each rank fills its rows), so
///    every rank solves the same weights and learning-rate scale;
/// 4. each rank sums its sources' weighted layer slices; one allreduce of the
///    flat buffer gives every rank the mixed gradient;
/// 5. every rank applies the same SGD step to its replica of θ.
public final class Trainer {
  let config: TrainConfig
  let options: RunOptions
  let comm: Communicator
  /// The same communicator, counting and timing every collective.
  let instruments: InstrumentedCommunicator
  var timeline = StepTimeline()
  var trace: FileHandle?
  let settings: Method.Settings
  let model: Sequential
  let parameters: FlatBuffer
  let velocity: FlatBuffer
  let mixed: FlatBuffer
  let targetGradient: FlatBuffer
  let mixer: GradientMixer
  let sgd: SGD
  let schedule: LearningRateSchedule
  var alr: AdaptiveLearningRate
  let workspace: Workspace
  public let sources: [SourceInfo]
  var slots: [SourceSlot] = []
  let log: RunLog
  var timers = PhaseTimers()

  // Coordinator (and, with `recompute`, every rank): the target data.
  var targetSplit: TargetSplit?
  var metaSampler: BatchSampler?
  var metaLabels: [Int32] = []
  let metaBatch: Int
  var evaluator: Evaluator?
  var pseudoLabeler: PseudoLabeler?
  var pseudoRefreshes = 0
  var lastPseudo: (count: Int, accuracy: Double)?
  var lastEval: (loss: Double, accuracy: Double)?
  var nonFiniteSourceSteps = 0
  var skippedSteps = 0
  var weightSums: [[Double]]
  /// Steps in which each source took part (for the mean weights in summary.json).
  var weightCounts: [Int]
  var pseudoSelection: PseudoLabeler.Selection?
  /// The first step to run (non-zero after a resume).
  var startStep = 0
  var stats: [Double]
  /// Buffers of the gather protocol (grown on first use).
  var gatherSend = FlatBuffer(count: 0)
  var gatherReceive = FlatBuffer(count: 0)

  var isCoordinator: Bool { comm.rank == 0 }
  var layerCount: Int { model.layout.layerCount }

  /// Builds the model and this rank's data.
  /// - Throws: ``ConfigError`` or `DataError` if the data cannot be built.
  public init(config: TrainConfig, options: RunOptions, communicator: Communicator) throws {
    self.config = config
    self.options = options
    instruments = InstrumentedCommunicator(wrapping: communicator)
    comm = options.instrument ? instruments : communicator
    settings = options.method.settings(
      steps: options.steps, targetAsSource: config.target.asSource ?? true,
      hasPseudoLabels: config.pseudoLabels != nil, finetuneFraction: config.finetuneSourceFraction ?? 0.5)
    model = try Sequential(spec: config.model.spec, inputShape: Shape(config.model.input ?? [3, 28, 28]))
    parameters = model.makeParameters(seed: Seeds.derive(options.seed, "init"))
    velocity = model.makeBuffer()
    mixed = model.makeBuffer()
    targetGradient = model.makeBuffer()
    mixer = GradientMixer(layout: model.layout)
    sgd = SGD(momentum: config.optimizer.momentum ?? 0.9, weightDecay: config.optimizer.weightDecay ?? 0,
              nesterov: config.optimizer.nesterov ?? false)
    schedule = try config.learningRateSchedule(file: options.configPath, steps: options.steps)
    alr = AdaptiveLearningRate(beta: config.adaptiveLR?.beta ?? 0.9, minScale: config.adaptiveLR?.minScale ?? 0.5,
                               maxScale: config.adaptiveLR?.maxScale ?? 2)
    let defaultBatch = config.batchSize ?? 32
    metaBatch = config.target.batchSize ?? defaultBatch

    // Every rank agrees on the list of sources and their owners.
    let placement = SourcePlacement(sourceCount: settings.useSources ? config.sources.count : 0,
                                    worldSize: comm.worldSize, coordinatorOwnsSources: options.coordinatorOwnsSources)
    if !placement.idleRanks.isEmpty {
      let busy = comm.worldSize - placement.idleRanks.count
      throw ConfigError(
        file: options.configPath, field: "sources",
        "\(placement.owner.count) source(s) cannot keep \(comm.worldSize) ranks busy: rank(s) \(placement.idleRanks.map(String.init).joined(separator: ", ")) would own none; run with at most \(busy) ranks\(options.coordinatorOwnsSources ? "" : " or add --coordinator-owns-sources")")
    }
    var infos = placement.owner.enumerated().map { SourceInfo(name: config.sourceName($0.offset), kind: .configured($0.offset), owner: $0.element) }
    if settings.useTargetSource { infos.append(SourceInfo(name: "target", kind: .target, owner: 0)) }
    if settings.pseudoLabels { infos.append(SourceInfo(name: "pseudo", kind: .pseudo, owner: 0)) }
    sources = infos
    stats = [Double](repeating: 0, count: Trainer.statsCount(sources: infos.count, layers: model.layout.layerCount))
    weightSums = [[Double]](repeating: [Double](repeating: 0, count: model.layout.layerCount), count: infos.count)
    weightCounts = [Int](repeating: 0, count: infos.count)

    var batches = [metaBatch]
    let catalog = try DomainCatalog(dataRoot: options.dataRoot, custom: config.domains)
    let needsTarget = isCoordinatorRank(comm) || (options.targetGradient == .recompute && settings.needsTargetGradient)
    if needsTarget {
      let split = try RunData.target(config: config, catalog: catalog, dataSeed: options.dataSeed)
      targetSplit = split
      metaSampler = BatchSampler(split.labelled, batchSize: metaBatch, seed: Seeds.derive(options.seed, "meta"))
      metaLabels = [Int32](repeating: 0, count: metaBatch)
    }
    if isCoordinatorRank(comm) && !options.resuming && FileManager.default.fileExists(atPath: options.outDir + "/run.json") {
      throw ConfigError(file: options.outDir, field: "--out",
                        "already holds a run (run.json); continue it with --resume \(options.outDir) or choose another --out")
    }
    log = try RunLog(directory: options.outDir, enabled: isCoordinatorRank(comm))
    let augment = Augmentation(maxShift: config.augment?.maxShift ?? 0)
    for (k, info) in infos.enumerated() where info.owner == comm.rank {
      switch info.kind {
      case .configured(let i):
        let data = try RunData.source(i, config: config, catalog: catalog, dataSeed: options.dataSeed, file: options.configPath)
        let b = config.sources[i].batchSize ?? defaultBatch
        slots.append(SourceSlot(index: k, info: info, sampler: BatchSampler(data.set, batchSize: b,
                                seed: Seeds.derive(options.seed, "source", k), augment: augment),
                                mask: data.mask, batchSize: b, model: model, seed: options.seed))
        batches.append(b)
      case .target:
        guard let split = targetSplit else { preconditionFailure("The target source lives on the coordinator.") }
        let b = config.target.sourceBatchSize ?? defaultBatch
        slots.append(SourceSlot(index: k, info: info, sampler: BatchSampler(split.labelled, batchSize: b,
                                seed: Seeds.derive(options.seed, "target-source"), augment: augment),
                                mask: nil, batchSize: b, model: model, seed: options.seed))
        batches.append(b)
      case .pseudo:
        let b = config.pseudoLabels?.batchSize ?? defaultBatch
        slots.append(SourceSlot(index: k, info: info, sampler: nil, mask: nil, batchSize: b, model: model, seed: options.seed))
        batches.append(b)
        if let p = config.pseudoLabels {
          pseudoLabeler = PseudoLabeler(threshold: p.threshold, perClassCap: p.perClassCap, classCount: config.classes)
        }
      }
    }
    workspace = model.makeWorkspace(maxBatch: batches.max() ?? metaBatch)
    if isCoordinator { evaluator = Evaluator(model: model) }
  }

  /// Stats vector layout: K×L dot products, K "present" flags, K "finite"
  /// flags, K losses, then the meta loss, the meta-loss-present flag and the
  /// number of ranks asked to stop (SIGINT/SIGTERM).
  static func statsCount(sources k: Int, layers l: Int) -> Int { k * l + 3 * k + 3 }
}

/// A failure of the distributed run itself.
public enum TrainingError: Error, CustomStringConvertible {
  case diverged(step: Int, rank: Int, detail: String)
  case layoutMismatch(detail: String)

  public var description: String {
    switch self {
    case .diverged(let t, let r, let d): return "parameters diverged across ranks at step \(t): rank \(r) differs (\(d))"
    case .layoutMismatch(let d): return "the ranks built different models or source lists: \(d)"
    }
  }
}

func isCoordinatorRank(_ comm: Communicator) -> Bool { comm.rank == 0 }
