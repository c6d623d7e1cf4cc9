import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixRecords

extension TrainingSetup {
  /// The run's records (``RunRecorder``, the log written on the coordinator)
  /// with the start-up table's transfer lines. Throws if `--out` already
  /// holds a run and this is not a resume.
  static func recorder(
    options: RunOptions, comm: Communicator, instruments: InstrumentedCommunicator, sources: [SourceInfo],
    network: Sequential, mixer: GradientMixer, multipliers: [Float], initWeights: PretrainedWeights.Report?,
    initPath: String?, usesLabelScores: Bool
  ) throws -> RunRecorder {
    if comm.rank == 0 && !options.resuming && FileManager.default.fileExists(atPath: options.outDir + "/run.json") {
      throw ConfigError(
        file: options.outDir, field: "--out",
        "already holds a run (run.json); continue it with --resume \(options.outDir) or choose another --out")
    }
    let log = try RunLog(directory: options.outDir, enabled: comm.rank == 0)
    let recorder = RunRecorder(
      options: options, comm: comm, instruments: instruments, log: log, sources: sources,
      layerNames: mixer.layout.layerNames)
    recorder.hasLabelScores = usesLabelScores
    if let w = initWeights, let path = initPath {
      recorder.initWeights = RunInfo.InitWeights(path: path, sha256: w.sha256, skippedLayers: w.skippedLayers)
      recorder.transferLines.append(
        "init:       \(path) (sha256 \(w.sha256.prefix(12))), \(w.tensorsLoaded) tensors"
          + (w.skippedLayers.isEmpty ? "" : "; random init: \(w.skippedLayers.joined(separator: " "))"))
    }
    let layout = network.layout
    if mixer.layout.layerCount < layout.layerCount {
      let frozen = layout.layerIndices.filter { network.frozen[$0] }
      let count = frozen.reduce(0) { $0 + layout.layerRanges[$1].count }
      recorder.transferLines.append(
        "frozen:     \(frozen.map { layout.layerNames[$0] }.joined(separator: " ")) (\(count) of \(network.parameterCount) parameters; mixed and reduced: \(mixer.layout.spans.count) span(s) of \(mixer.layout.coveredCount))"
      )
    }
    if multipliers.contains(where: { $0 != 1 }) {
      recorder.transferLines.append(
        "layer lr:   "
          + layout.layerIndices.filter { multipliers[$0] != 1 }.map {
            "\(layout.layerNames[$0]) x\(multipliers[$0])"
          }.joined(separator: ", "))
    }
    return recorder
  }

  /// The checkpoint writer; its sidecar fields name the run (method, seeds,
  /// config, class names, provenance, the `model.init` file's hash).
  static func checkpointer(
    config: TrainConfig, options: RunOptions, network: Sequential, classNames: [String],
    initWeights: PretrainedWeights.Report?
  ) throws -> Checkpointer {
    Checkpointer(
      directory: options.outDir, model: network,
      extra: [
        "method": options.method.rawValue, "seed": String(options.seed), "data_seed": String(options.dataSeed),
        "config": options.configPath,
        "class_names": String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self),
      ].merging(options.provenance?.checkpointFields ?? [:]) { old, _ in old }
        .merging(initWeights.map { ["init_sha256": $0.sha256] } ?? [:]) { old, _ in old },
      keep: config.keepCheckpoints ?? TrainConfig.Defaults.keepCheckpoints)
  }
}
