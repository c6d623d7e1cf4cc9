import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

extension Trainer {
  /// Continues the run in `options.outDir` from its newest valid checkpoint
  /// (every rank reads it; a corrupt newest one is skipped with a warning).
  /// Returns the step it resumes from.
  @discardableResult
  public func resumeFromNewestCheckpoint() throws -> Int {
    let dir = options.outDir + "/checkpoints"
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
      .filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted(by: >)
    for file in files {
      let path = dir + "/" + file
      do {
        let checkpoint = try Checkpoint.load(from: path, for: model)
        guard let json = checkpoint.metadata.extra["trainer_state"] else {
          throw CheckpointError.malformed(path: path, detail: "the sidecar has no trainer state")
        }
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(json.utf8))
        guard state.slots.count == sources.count || !state.slots.isEmpty else {
          throw CheckpointError.malformed(path: path, detail: "the trainer state lists no sources")
        }
        try restore(from: checkpoint, state: state)
        if isCoordinator {
          try truncateMetrics(after: state.step)
          if options.progress { printLine("resuming \(options.outDir) from \(path) (step \(state.step) of \(options.steps))") }
        }
        return state.step
      } catch let e as CheckpointError {
        if isCoordinator { printError("warning: skipping checkpoint: \(e.description)") }
      } catch let e as DecodingError {
        if isCoordinator { printError("warning: skipping checkpoint \(path): bad trainer state (\(e))") }
      }
    }
    throw CheckpointError.fileNotFound(path: dir + "/step-*.safetensors (no valid checkpoint to resume from)")
  }

  /// Drops metrics.jsonl records written after `step` by the interrupted run.
  func truncateMetrics(after step: Int) throws {
    let path = options.outDir + "/metrics.jsonl"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    let kept = text.split(separator: "\n").filter { line in
      guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let s = obj["step"] as? Int else { return false }
      return s <= step
    }
    try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
    log.reopen()
  }
}
