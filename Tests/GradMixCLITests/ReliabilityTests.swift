import Foundation
import GradMixData
import GradMixEngine
import GradMixRecords
import GradMixTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Numeric faults and interruption, through the command line.
@Suite("Reliability", .serialized)
struct ReliabilityTests {
  static var root: String { SmallRunConfig.root }

  static func config(steps: Int) -> String { SmallRunConfig.text(steps: steps, evalEvery: 10, logEvery: 2) }

  static func tempDir() throws -> String { try makeTemporaryDirectory("gradmix-rel") }

  @Test("a source with a NaN gradient gets weight 0 for those steps, with a warning, and training goes on")
  func nanSource() throws {
    let dir = try Self.tempDir()
    try Data(Self.config(steps: 12).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try runProduct(
      [
        "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--out", dir + "/run",
        "--method", "gated-pcgrad", "--inject-nan", "syndigits[5-9]@3-6",
      ])
    #expect(r.status == 0, "\(r.stderr)")
    let warnings = r.stderr.split(separator: "\n").filter { $0.contains("non-finite") && $0.contains("syndigits[5-9]") }
    #expect(warnings.count == 3, "\(r.stderr)")
    let s = try MPITests.summary(dir + "/run")
    #expect(s.nonfiniteSourceSteps == 3)
    #expect(s.paramsL2?.isFinite == true)
    let lines = try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    for line in lines {
      let rec = try #require(RecordCoding.decode(MetricsRecord.self, from: Data(line.utf8)))
      guard let step = rec.step, [4, 6].contains(step), let w = rec.weights else { continue }
      #expect(w["syndigits[5-9]"] == [0, 0, 0], "step \(step): \(w)")
    }
  }

  @Test("SIGTERM: the step finishes, a checkpoint is written, exit 75; --resume continues from it")
  func sigterm() throws {
    let dir = try Self.tempDir()
    try Data(Self.config(steps: 400).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent("gradmix")
    process.arguments = [
      "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--out", dir + "/run", "--quiet",
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Wait until training is under way (a few metrics records), then ask it to stop.
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      let text = (try? String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8)) ?? ""
      if text.split(separator: "\n").count >= 3 { break }
      usleep(50_000)
    }
    kill(process.processIdentifier, SIGTERM)
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 75, "\(output)")
    let line = try #require(
      output.split(separator: "\n").first { $0.hasPrefix("interrupted: stopped after step") }, "\(output)")
    let step = try #require(Int(line.split(separator: " ")[4]))
    #expect(step > 0 && step < 400)
    let ckpt = dir + "/run/checkpoints/" + String(format: "step-%06d.safetensors", step)
    #expect(FileManager.default.fileExists(atPath: ckpt))
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/summary.json"))
    let resumed = try runProduct(["train", "--resume", dir + "/run", "--stop-after", "\(step + 4)"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stdout.contains("(step \(step) of 400)"), "\(resumed.stdout)")
  }

  /// kill -9 at a random step, then --resume from the newest periodic
  /// checkpoint: the final model is bit-identical to an uninterrupted run.
  @Test("SIGKILL mid-run and --resume: the same final parameters, bit for bit")
  func sigkill() throws {
    let dir = try Self.tempDir()
    try Data((Self.config(steps: 60) + "\ncheckpoint_every: 5\nkeep_checkpoints: 2\n").utf8)
      .write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--threads", "1"]
    let straight = try runProduct(common + ["--out", dir + "/straight"])
    #expect(straight.status == 0, "\(straight.stderr)")
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent("gradmix")
    process.arguments = common + ["--out", dir + "/killed"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    var rng = RNG(seed: UInt64(Date().timeIntervalSince1970))
    let target = 4 + rng.int(below: 20)  // metrics records (2 steps each) before the kill
    print("SIGKILL after \(target) metrics records")
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && process.isRunning {
      let text = (try? String(contentsOfFile: dir + "/killed/metrics.jsonl", encoding: .utf8)) ?? ""
      if text.split(separator: "\n").count >= target { break }
      usleep(20_000)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    let resumed = try runProduct(["train", "--resume", dir + "/killed", "--threads", "1"])
    #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
    let a = try MPITests.summary(dir + "/straight"), b = try MPITests.summary(dir + "/killed")
    #expect(a.paramsL2 != nil && a.paramsL2 == b.paramsL2)
    #expect(a.targetLoss == b.targetLoss)
  }

  @Test("--resume skips a corrupt newest checkpoint with a warning")
  func corruptNewest() throws {
    let dir = try Self.tempDir()
    try Data((Self.config(steps: 20) + "\ncheckpoint_every: 5\n").utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--out",
      dir + "/run", "--stop-after", "12",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let newest = dir + "/run/checkpoints/step-000010.safetensors"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
    bytes[bytes.count - 3] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: newest))
    let resumed = try runProduct(["train", "--resume", dir + "/run"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(
      resumed.stderr.contains("warning: skipping checkpoint") && resumed.stderr.contains("checksum mismatch"),
      "\(resumed.stderr)")
    #expect(resumed.stdout.contains("(step 5 of 20)"), "\(resumed.stdout)")
  }

  @Test("training into a folder that already holds a run is refused, and nothing in it changes")
  func existingRun() throws {
    let dir = try Self.tempDir()
    try Data(Self.config(steps: 4).utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let args = ["train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--quiet", "--out", dir + "/run"]
    #expect(try runProduct(args).status == 0)
    let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json"))
    let again = try runProduct(args)
    #expect(again.status == 2)
    #expect(again.stderr.contains("already holds a run") && again.stderr.contains("--resume"), "\(again.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json")) == before)
  }
}
