import ArgumentParser
import Foundation
import GradMixCore
import GradMixData
import GradMixDistributed
import GradMixEngine

/// `gradmix eval`: target test accuracy of a checkpoint.
struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval", abstract: "Report the target test accuracy of a checkpoint on a config's target split.")

  @Option(help: "The checkpoint's .safetensors file.")
  var checkpoint: String

  @Option(help: "The config the model was trained with (its target defines the test split).")
  var config: String

  @Option(help: "Data seed of the split. Default: the one recorded in the checkpoint.")
  var dataSeed: UInt64?

  @Option(help: "Data folder. Default: $GRADMIX_DATA, the config's data_root, else data/raw.")
  var dataRoot: String?

  func run() throws {
    do {
      let cfg = try TrainConfig.load(path: config)
      let meta = try Checkpoint.readMetadata(at: checkpoint)
      let model = try Sequential(spec: cfg.model.spec, inputShape: Shape(cfg.model.input ?? TrainConfig.Defaults.input))
      let loaded = try Checkpoint.load(from: checkpoint, for: model)
      if let bad = loaded.parameters.firstNonFiniteIndex() {
        throw CheckpointError.malformed(
          path: checkpoint,
          detail:
            "tensor '\(model.layout.tensorName(at: bad))' holds NaN or infinite values (a diverged run); nothing to evaluate"
        )
      }
      let seed = dataSeed ?? meta.extra["data_seed"].flatMap { UInt64($0) } ?? cfg.dataSeed ?? cfg.seed ?? 1
      let result = try Evaluation.testAccuracy(
        config: cfg, parameters: loaded.parameters, state: loaded.state, model: model,
        dataRoot: Launch.dataRoot(option: dataRoot, config: cfg.dataRoot),
        dataSeed: seed)
      print(
        String(
          format: "target test accuracy %.2f%% (loss %.4f) on %d images of %@ (data seed %llu), step %d",
          result.accuracy * 100, result.loss, result.count, cfg.target.domain, seed, meta.step))
    } catch {
      Launch.fail(error, comm: LocalCommunicator())
    }
  }
}
