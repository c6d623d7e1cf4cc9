import Foundation
import GradMixData
import GradMixRecords
import GradMixTestSupport
import Testing

/// Whole runs for issue #12: divergence, resume with the recorded options, failed starts, inspect of 0 images.
@Suite("Robust runs", .serialized)
struct RobustRunTests {
  static var root: String { SmallRunConfig.root }

  static func config(steps: Int, lr: String = "0.05") -> String {
    SmallRunConfig.text(
      steps: steps, lr: lr, evalEvery: 1, logEvery: 1, extra: ["checkpoint_every: 1", "keep_checkpoints: 10"])
  }

  /// `dir`/run.json.
  static func run(_ dir: String) throws -> RunInfo {
    try #require(RecordCoding.read(RunInfo.self, path: dir + "/run.json"), "\(dir)/run.json")
  }

  @Test(
    "lr 1e6: one error line, status 3, summary.json says diverged, only pre-divergence checkpoints are kept, no NaN in JSON"
  )
  func divergence() throws {
    let dir = try makeTemporaryDirectory("gradmix-div")
    try Data(Self.config(steps: 30, lr: "1000000").utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--out", dir + "/run", "--quiet",
    ])
    #expect(r.status == 3, "\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1 && errors[0].contains("diverged since step"), "\(r.stderr)")
    let s = try MPITests.summary(dir + "/run")
    #expect(s.status == "diverged")
    let since = try #require(s.divergedSinceStep)
    #expect(since <= 3, "detected within a few steps: \(s)")
    let kept = try FileManager.default.contentsOfDirectory(atPath: dir + "/run/checkpoints")
      .filter { $0.hasSuffix(".safetensors") }.sorted()
    #expect(!kept.isEmpty && kept.allSatisfy { Int($0.dropFirst(5).prefix(6))! < since }, "\(kept)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/final.safetensors"))
    #expect(s.lastCheckpoint == "checkpoints/" + kept.last!)
    // Every metrics line is valid JSON (non-finite numbers as null).
    for line in try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n") {
      #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
    }
    // The kept checkpoint is finite: eval accepts it.
    let e = try runProduct([
      "eval", "--checkpoint", dir + "/run/checkpoints/" + kept.last!, "--config", dir + "/c.yaml",
      "--data-root", Self.root,
    ])
    #expect(e.status == 0, "\(e.stderr)")
  }

  /// The stopped run also has --step-timeout: accepted in one process (nothing to wait for), recorded, and
  /// without effect on the arithmetic.
  @Test("a run started with --threads 1, stopped and resumed without --threads, is bit-identical to a straight one")
  func resumeReusesThreads() throws {
    let dir = try makeTemporaryDirectory("gradmix-threads")
    try Data(Self.config(steps: 12).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "1"]
    #expect(try runProduct(common + ["--out", dir + "/straight"]).status == 0)
    #expect(
      try runProduct(common + ["--out", dir + "/stopped", "--stop-after", "7", "--step-timeout", "2.5"]).status == 0)
    let run = try Self.run(dir + "/stopped")
    #expect(run.provenance.threads == 1)
    #expect(run.stepTimeout == 2.5)
    #expect((run.configHash)?.isEmpty == false)
    let resumed = try runProduct(["train", "--resume", dir + "/stopped", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = try MPITests.summary(dir + "/straight"), b = try MPITests.summary(dir + "/stopped")
    #expect(a.paramsL2 == b.paramsL2)
    #expect(a.targetLoss == b.targetLoss)
  }

  @Test("--eval-split validation is recorded and reused by --resume; a different one is refused")
  func resumeReusesEvalSplit() throws {
    let dir = try makeTemporaryDirectory("gradmix-eval-split")
    try Data(Self.config(steps: 6).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let stopped = try runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "1",
      "--out", dir + "/run", "--stop-after", "3", "--eval-split", "validation",
    ])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    #expect(try Self.run(dir + "/run").evalSplit == "validation")
    let other = try runProduct(["train", "--resume", dir + "/run", "--quiet", "--eval-split", "test"])
    #expect(
      other.status == 2
        && other.stderr.hasPrefix("error: --eval-split: the run was started with --eval-split validation"),
      "\(other.stderr)")
    let resumed = try runProduct(["train", "--resume", dir + "/run", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try MPITests.summary(dir + "/run").evalSplit == "validation")
  }

  @Test("sweep --dry-run prints the commands and creates nothing")
  func sweepDryRun() throws {
    let dir = try makeTemporaryDirectory("gradmix-dry-run")
    try Data(Self.config(steps: 2).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try runProduct([
      "sweep", "--config", dir + "/c.yaml", "--methods", "uniform", "--seeds", "1-2",
      "--out", dir + "/sweep", "--data-root", Self.root, "--dry-run",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.split(separator: "\n").filter { $0.contains(" train --config ") }.count == 2, "\(r.stdout)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["c.yaml"])
  }

  @Test("a failed start (unwritable --trace) leaves nothing that blocks the same command once fixed")
  func failedStart() throws {
    let dir = try makeTemporaryDirectory("gradmix-failed-start")
    try Data(Self.config(steps: 2).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let args = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--out", dir + "/run"]
    let bad = try runProduct(args + ["--trace", dir + "/missing/t.jsonl"])
    #expect(bad.status == 2, "\(bad.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/run.json"))
    let good = try runProduct(args + ["--trace", dir + "/t.jsonl"])
    #expect(good.status == 0, "\(good.stderr)")
  }

  @Test("data inspect of a valid IDX file with 0 images prints a count of 0")
  func zeroImages() throws {
    let dir = try makeTemporaryDirectory("gradmix-zero")
    let p = dir + "/z-images-idx3-ubyte"
    try Data([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]).write(to: URL(fileURLWithPath: p))
    let r = try runProduct(["data", "inspect", p])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("count:     0"), "\(r.stdout)")
  }
}
