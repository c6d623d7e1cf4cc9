import Foundation
import GradMixEngine

/// The checkpoint files of a run: `checkpoints/step-NNNNNN.safetensors` (and
/// `final.safetensors`) with their JSON sidecars, written by the coordinator,
/// pruned to the newest few, and read back by every rank on `--resume`.
///
/// The trainer decides what goes in (``TrainerState``); this type only knows
/// where it goes and how it is named.
struct Checkpointer {
  let directory: String
  let model: Sequential
  /// Sidecar entries every checkpoint carries (method, seeds, config).
  let extra: [String: String]
  /// How many `step-*` checkpoints to keep.
  let keep: Int

  static func stepName(_ step: Int) -> String { String(format: "checkpoints/step-%06d.safetensors", step) }

  /// Writes `name` (relative to the run folder) with the trainer state in its sidecar.
  func save(
    _ state: TrainerState, name: String, parameters: FlatBuffer, modelState: FlatBuffer, velocity: FlatBuffer,
    optimizer: SGD,
    baseLearningRate: Float, schedule: LearningRateSchedule
  ) throws {
    var extra = self.extra
    extra["trainer_state"] = String(decoding: try CheckpointJSON.encoder().encode(state), as: UTF8.self)
    let meta = CheckpointMetadata(
      model: model, step: state.step, optimizer: optimizer,
      baseLearningRate: baseLearningRate, schedule: schedule, extra: extra)
    try Checkpoint.save(
      to: directory + "/" + name, model: model, parameters: parameters, state: modelState,
      velocity: velocity,
      metadata: meta)
  }

  /// Deletes all but the newest `keep` step checkpoints.
  func prune() {
    let dir = directory + "/checkpoints"
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
    let steps = files.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
    for f in steps.dropLast(keep) {
      try? FileManager.default.removeItem(atPath: dir + "/" + f)
      try? FileManager.default.removeItem(atPath: dir + "/" + Checkpoint.sidecarPath(for: f))
    }
  }

  /// The newest valid step checkpoint and its trainer state; a corrupt newer
  /// one is skipped, reported through `warn`.
  /// - Throws: `CheckpointError.fileNotFound` if none is valid.
  func loadNewest(warn: (String) -> Void) throws -> (checkpoint: LoadedCheckpoint, state: TrainerState, path: String) {
    let dir = directory + "/checkpoints"
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
      .filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted(by: >)
    for file in files {
      let path = dir + "/" + file
      do {
        let checkpoint = try Checkpoint.load(from: path, for: model)
        guard let json = checkpoint.metadata.extra["trainer_state"] else {
          throw CheckpointError.malformed(path: path, detail: "the sidecar has no trainer state")
        }
        let state = try CheckpointJSON.decoder().decode(TrainerState.self, from: Data(json.utf8))
        guard !state.slots.isEmpty else {
          throw CheckpointError.malformed(path: path, detail: "the trainer state lists no sources")
        }
        return (checkpoint, state, path)
      } catch let e as CheckpointError {
        warn("warning: skipping checkpoint: \(e.description)")
      } catch let e as DecodingError {
        warn("warning: skipping checkpoint \(path): bad trainer state (\(e))")
      }
    }
    throw CheckpointError.fileNotFound(path: dir + "/step-*.safetensors (no valid checkpoint to resume from)")
  }
}
