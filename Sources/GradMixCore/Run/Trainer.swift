import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// Runs GradMix (or a baseline) on every rank of a job: the run loop.
///
/// ``TrainingSetup`` builds the parts at start-up; each step is a
/// ``TrainingStep`` (docs/DESIGN.md, "One training step across ranks");
/// around the steps this type evaluates, logs (``RunRecorder``), writes
/// checkpoints (``Checkpointer``), refreshes the pseudo-labels and watches
/// for divergence and stop requests (``run(stopRequested:)``).
public final class Trainer {
  let config: TrainConfig
  let options: RunOptions
  let comm: Communicator
  let step: TrainingStep
  public let sources: [SourceInfo]
  /// Which split sources sum their shards in a group (rules on whole-source norms).
  let groups: ShardGroups
  let recorder: RunRecorder
  let checkpointer: Checkpointer
  /// The target's class names (an image folder's class folders, else "0", "1", ...), in run.json and checkpoints.
  let classNames: [String]
  /// The first step to run (non-zero after a resume).
  var startStep = 0
  /// Watches for divergence; checkpointed and restored with the run (``TrainerState/divergence``).
  var divergence = DivergenceMonitor()

  var isCoordinator: Bool { comm.rank == 0 }
  var settings: Method.Settings { step.settings }
  var model: Sequential { step.model.network }
  var parameters: FlatBuffer { step.model.parameters }
  var target: TargetData { step.target }
  var slots: [SourceSlot] { step.slots }

  /// Builds the model and this rank's data (``TrainingSetup``, in order).
  /// - Throws: ``ConfigError`` or `DataError` if the data cannot be built.
  public init(config: TrainConfig, options: RunOptions, communicator: Communicator) throws {
    self.config = config
    self.options = options
    let instruments = InstrumentedCommunicator(wrapping: communicator, separatingWait: true)
    comm = options.instrument ? instruments : communicator
    let settings = TrainingSetup.settings(config: config, options: options)
    let (network, parameters, statistics, initWeights) = try TrainingSetup.network(config: config, options: options)
    let (mixer, update, multipliers) = try TrainingSetup.update(config: config, options: options, network: network)
    sources = try TrainingSetup.sources(config: config, options: options, settings: settings, worldSize: comm.worldSize)
    let rule = try TrainingSetup.rule(
      config: config, options: options, network: network, sources: sources, layers: mixer.layout.layerCount)
    groups = ShardGroups(shards: sources.map(\.shards), wholeSourceNorms: rule.needsWholeSourceNorms)
    let targetSignature =
      rule.usesLabelScores
      ? network.classifierInputCount.map { LabelSignature(classes: network.classCount, features: $0) } : nil
    let rank = communicator.rank
    let (target, catalog, classNames) = try TrainingSetup.targetData(
      config: config, options: options, settings: settings, network: network, sources: sources, rank: rank)
    self.classNames = classNames
    recorder = try TrainingSetup.recorder(
      options: options, comm: comm, instruments: instruments, sources: sources, network: network, mixer: mixer,
      multipliers: multipliers, initWeights: initWeights, initPath: config.initPath(configFile: options.configPath),
      usesLabelScores: rule.usesLabelScores)
    checkpointer = try TrainingSetup.checkpointer(
      config: config, options: options, network: network, classNames: classNames, initWeights: initWeights)
    let slots = try TrainingSetup.slots(
      config: config, options: options, network: network, sources: sources, groups: groups, catalog: catalog,
      target: target, targetSignature: targetSignature, rank: rank)
    let workspace = network.makeWorkspace(maxBatch: slots.map(\.batchSize).reduce(target.metaBatch, max))
    step = TrainingStep(
      comm: comm, options: options, settings: settings,
      model: TrainingModel(
        network: network, parameters: parameters, runningStatistics: statistics, workspace: workspace),
      sourceCount: sources.count, mixer: mixer, targetSignature: targetSignature, slots: slots, target: target,
      rule: rule, strategy: TrainingSetup.strategy(options: options, comm: comm, mixer: mixer, groups: groups),
      update: update)
  }

  /// The strategy's name for the start-up table.
  var strategyName: String { step.strategy is GatherMixing ? "gather" : "allreduce" }

  /// Forms the groups of ``ShardGroups/summed`` (one `split` per summed
  /// source, a collective of every rank), once, before the first step.
  func formShardGroups() throws {
    for k in groups.summed {
      let group = try comm.split(color: groups.color(source: k, rank: comm.rank), key: comm.rank)
      for slot in slots where slot.index == k { slot.group = group }
    }
  }
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
