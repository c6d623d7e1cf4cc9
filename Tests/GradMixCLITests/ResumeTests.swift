import Foundation
import GradMixData
import GradMixRecords
import GradMixTestSupport
import Testing

/// `--resume` continues the run it names exactly as if it had not stopped (issue #28).
@Suite("Resume", .serialized)
struct ResumeTests {
  static var root: String { SmallRunConfig.root }

  static func summary(_ dir: String) throws -> RunSummary { try MPITests.summary(dir) }

  /// The divergence monitor's reference (the loss at the run's start) is in
  /// the checkpoint: a run stopped before it diverges and resumed reaches the
  /// same verdict, at the same step, against the same start loss.
  @Test("a resumed run compares its loss with the run's start, not with the step it resumed from")
  func divergenceReference() throws {
    let dir = try makeTemporaryDirectory("gradmix-resume")
    // lr 3 with target mnist diverges from step 4 (the monitor's verdict at step 6).
    let text = SmallRunConfig.text(steps: 40, lr: "3", evalEvery: 10, logEvery: 1, extra: ["checkpoint_every: 2"])
      .replacingOccurrences(of: "domain: mnist-m", with: "domain: mnist")
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "1"]
    let straight = try runProduct(common + ["--out", dir + "/straight"])
    #expect(straight.status == 3, "\(straight.stderr)")
    let a = try Self.summary(dir + "/straight")
    let since = try #require(a.divergedSinceStep)
    #expect(since > 3, "diverged too early for a resume before it: \(a)")
    let stopped = try runProduct(common + ["--out", dir + "/resumed", "--stop-after", "\(since - 1)"])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    let resumed = try runProduct(["train", "--resume", dir + "/resumed", "--quiet"])
    #expect(resumed.status == 3, "\(resumed.stderr)")
    let b = try Self.summary(dir + "/resumed")
    #expect(b.divergedSinceStep == since)
    #expect(b.divergedAtStep == a.divergedAtStep)
    #expect(
      b.divergence == a.divergence,
      "\(String(describing: b.divergence)) vs \(String(describing: a.divergence))")
  }

  /// Stopped at a checkpoint and resumed with 2 engine threads: the same bits as the straight run
  /// with 2 threads (the resumed run takes `--threads` from run.json).
  @Test("stop at a checkpoint and --resume with --threads 2: the uninterrupted run's model, bit for bit")
  func threads() throws {
    let dir = try makeTemporaryDirectory("gradmix-resume")
    let text = SmallRunConfig.text(steps: 40, evalEvery: 10, logEvery: 1, extra: ["checkpoint_every: 10"])
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "2"]
    let straight = try runProduct(common + ["--out", dir + "/straight"])
    #expect(straight.status == 0, "\(straight.stderr)")
    let stopped = try runProduct(common + ["--out", dir + "/resumed", "--stop-after", "20"])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    let resumed = try runProduct(["train", "--resume", dir + "/resumed", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = try Self.summary(dir + "/straight"), b = try Self.summary(dir + "/resumed")
    #expect(a.paramsL2 == b.paramsL2)
    #expect(a.targetLoss == b.targetLoss)
  }

  /// A run started before the names of 2026-12-05 recorded the gated PCGrad rule as `gradmix` and no
  /// `method_names`: `--resume` continues it as `gated-pcgrad` (the same rule and checkpoint state),
  /// with one note, not with the paper's rule that `gradmix` names now (ResumeInfo).
  @Test("a run recorded as gradmix before the rename resumes as gated-pcgrad: a note, the uninterrupted model")
  func formerMethodName() throws {
    let dir = try makeTemporaryDirectory("gradmix-resume")
    let text = SmallRunConfig.text(steps: 30, evalEvery: 10, logEvery: 1, extra: ["checkpoint_every: 10"])
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "1"]
    let straight = try runProduct(common + ["--out", dir + "/straight", "--method", "gated-pcgrad"])
    #expect(straight.status == 0, "\(straight.stderr)")
    let stopped = try runProduct(common + ["--out", dir + "/old", "--method", "gated-pcgrad", "--stop-after", "20"])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    let path = dir + "/old/run.json"
    var run = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    #expect(run["method_names"] as? String == "2026-12-05")
    // Recorded with today's names, a renamed method is refused with its new name.
    run["method"] = "gradmix-paper"
    try JSONSerialization.data(withJSONObject: run).write(to: URL(fileURLWithPath: path))
    let refused = try runProduct(["train", "--resume", dir + "/old", "--quiet"])
    let errors = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(refused.status == 2 && errors.count == 1, "\(refused.stderr)")
    #expect(errors.first?.contains("now called gradmix") == true, "\(refused.stderr)")
    // Rewritten as the code before the rename wrote it: `gradmix`, no method_names.
    run["method"] = "gradmix"
    run["method_names"] = nil
    try JSONSerialization.data(withJSONObject: run).write(to: URL(fileURLWithPath: path))
    let resumed = try runProduct(["train", "--resume", dir + "/old", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    // One note on the name (the label gate may add its own end-of-run notes on this tiny task).
    let notes = resumed.stderr.split(separator: "\n").filter { $0.hasPrefix("note: \(dir)/old:") }
    #expect(notes.count == 1 && notes[0].contains("'gated-pcgrad'"), "\(resumed.stderr)")
    let a = try Self.summary(dir + "/straight"), b = try Self.summary(dir + "/old")
    #expect(b.method == "gated-pcgrad")
    #expect(a.paramsL2 == b.paramsL2)
  }
}
