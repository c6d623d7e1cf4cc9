import Foundation
import GradMixEngine

extension Trainer {
  /// The losses the divergence check looks at: every present source's and the meta-batch's.
  func divergenceLosses(_ r: StepResult) -> [Double] {
    r.losses.compactMap { $0 } + (r.metaLoss.map { [$0] } ?? [])
  }

  /// Ends a diverged run cleanly (every rank calls it at the same step).
  ///
  /// The coordinator removes the checkpoints written since the divergence
  /// began (so the newest one left is the last finite, pre-divergence
  /// state), and writes summary.json with `"status": "diverged"`; no final
  /// checkpoint is written. The caller prints the one error line and exits
  /// with status 3 (README, "Reliability").
  func stopDiverged(_ verdict: DivergenceMonitor.Verdict, step stepNumber: Int, wallSeconds: Double) throws
    -> RunOutcome
  {
    var summary = RunOutcome(
      accuracy: target.lastEval?.accuracy ?? .nan, loss: target.lastEval?.loss ?? .nan,
      parametersL2: .nan, wallSeconds: wallSeconds)
    summary.divergedSince = verdict.since
    summary.divergence = verdict.reason
    guard isCoordinator else { return summary }
    let dir = options.outDir + "/checkpoints"
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    var kept: [String] = []
    for f in files where f.hasPrefix("step-") && f.hasSuffix(".safetensors") {
      // Checkpoint step s holds the parameters after step s; divergence since step v (1-based) means s >= v is bad.
      if let s = Int(f.dropFirst("step-".count).prefix(6)), s >= verdict.since {
        try? FileManager.default.removeItem(atPath: dir + "/" + f)
        try? FileManager.default.removeItem(atPath: dir + "/" + Checkpoint.sidecarPath(for: f))
      } else {
        kept.append(f)
      }
    }
    summary.lastCheckpoint = kept.sorted().last.map { "checkpoints/" + $0 }
    var record = recorder.summaryRecord(
      summary, model: model, timers: step.timers, pseudoRefreshes: target.pseudoRefreshes,
      pseudo: target.lastPseudo)
    record.status = "diverged"
    record.divergedSinceStep = verdict.since
    record.divergedAtStep = stepNumber
    record.divergence = verdict.reason
    record.lastCheckpoint = summary.lastCheckpoint
    try recorder.log.writeJSON(record, to: "summary.json")
    return summary
  }
}
