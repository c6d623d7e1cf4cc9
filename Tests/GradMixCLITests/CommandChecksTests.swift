import Foundation
import GradMixTestSupport
import Testing

/// The run tools check their arguments before doing anything large or long (issue #28, rows 8 and 11).
@Suite("Command checks")
struct CommandChecksTests {
  struct Case: CustomStringConvertible, Sendable {
    let name: String
    let mentions: [String]
    let arguments: @Sendable (String) throws -> [String]
    var description: String { name }
  }

  static let cases: [Case] = [
    Case(name: "sweep --seeds 1-100000000", mentions: ["--seeds", "10000"]) { dir in
      ["sweep", "--config", try config(dir), "--seeds", "1-100000000", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --seeds with an empty item", mentions: ["--seeds"]) { dir in
      ["sweep", "--config", try config(dir), "--seeds", "1,,2", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --seeds -3", mentions: ["--seeds"]) { dir in
      ["sweep", "--config", try config(dir), "--seeds=-3", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --methods ''", mentions: ["--methods"]) { dir in
      ["sweep", "--config", try config(dir), "--methods", "", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --methods with an unknown method", mentions: ["--methods", "nosuch"]) { dir in
      ["sweep", "--config", try config(dir), "--methods", "gradmix,nosuch", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --methods twice the same", mentions: ["--methods", "uniform", "twice"]) { dir in
      ["sweep", "--config", try config(dir), "--methods", "uniform,uniform", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --prefix escaping --out", mentions: ["--prefix"]) { dir in
      ["sweep", "--config", try config(dir), "--prefix", "../../x", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --set unknown key", mentions: ["--set", "nosuch.key"]) { dir in
      ["sweep", "--config", try config(dir), "--set", "nosuch.key=1,2", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --set bad value", mentions: ["--set", "optimizer.lr"]) { dir in
      ["sweep", "--config", try config(dir), "--set", "optimizer.lr=0.1,abc", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --set empty value", mentions: ["--set"]) { dir in
      ["sweep", "--config", try config(dir), "--set", "optimizer.lr=0.1,,0.2", "--out", dir + "/sweep"]
    },
    Case(name: "sweep --out a file", mentions: ["--out", "is a file"]) { dir in
      ["sweep", "--config", try config(dir), "--out", try config(dir)]
    },
    Case(name: "train: a YAML alias bomb as an override", mentions: ["command line", "sources[0].classes", "aliases"]) {
      dir in
      let levels = (0..<8).map { i -> String in
        let name = String(UnicodeScalar(UInt8(97 + i)))
        let item = i == 0 ? "1" : "*" + String(UnicodeScalar(UInt8(96 + i)))
        return "&\(name) [" + Array(repeating: item, count: 10).joined(separator: ",") + "]"
      }
      return [
        "train", "--config", try config(dir), "--data-root", SmallRunConfig.root, "--out", dir + "/run",
        "sources[0].classes=[" + levels.joined(separator: ", ") + "]",
      ]
    },
    Case(name: "bench engine --batches 1000000000", mentions: ["--batches", "1000000000", "available"]) { _ in
      ["bench", "engine", "--batches", "1000000000"]
    },
    Case(name: "bench engine --json in a missing folder", mentions: ["--json", "/nonexistent/x.json"]) { _ in
      ["bench", "engine", "--json", "/nonexistent/x.json"]
    },
    Case(name: "table --metric nosuch", mentions: ["--metric", "nosuch"]) { _ in
      ["table", HostileInputTests.finished, "--metric", "nosuch"]
    },
  ]

  static func config(_ dir: String) throws -> String {
    let path = dir + "/c.yaml"
    try Data(HostileInputTests.config.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test("each: exit 2, one error line naming the option, nothing run or written, bounded memory", arguments: cases)
  func refused(_ c: Case) throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try runMeasured(productsDirectory().appendingPathComponent("gradmix").path, try c.arguments(dir))
    #expect(r.signal == nil && r.status == 2, "\(c.name): \(r.status.map(String.init) ?? "signal"): \(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(c.name): \(r.stderr)")
    for m in c.mentions {
      #expect(errors.first?.contains(m) == true, "\(c.name): '\(errors.first ?? "")' lacks '\(m)'")
    }
    #expect(!r.stdout.contains("engine benchmark:"), "\(c.name): benchmarked before checking: \(r.stdout)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/sweep"), "\(c.name): the sweep folder was made")
    #expect(r.maxRSSKiB < 200 * 1024, "\(c.name): peak memory \(r.maxRSSKiB / 1024) MiB")
  }

  /// `gradmix table` reads summary.json, never metrics.jsonl (one of 1 GB took 45 s and 2.6 GB).
  @Test("table of a run with a 150 MB metrics.jsonl: the same table, in bounded memory")
  func tableSkipsMetrics() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = dir + "/run"
    try FileManager.default.copyItem(atPath: HostileInputTests.finished, toPath: run)
    let exe = productsDirectory().appendingPathComponent("gradmix").path
    let before = try runMeasured(exe, ["table", run])
    #expect(before.status == 0, "\(before.stderr)")
    let line = try #require(
      try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").first)
    let handle = try #require(FileHandle(forWritingAtPath: run + "/metrics.jsonl"))
    handle.seekToEndOfFile()
    let block = Data(String(repeating: line + "\n", count: max(1, (1 << 20) / (line.count + 1))).utf8)
    for _ in 0..<150 { handle.write(block) }
    try handle.close()
    let after = try runMeasured(exe, ["table", run])
    #expect(after.status == 0, "\(after.stderr)")
    #expect(after.stdout == before.stdout)
    #expect(after.maxRSSKiB < 100 * 1024, "peak memory \(after.maxRSSKiB / 1024) MiB")
  }

  /// `report --out D` replaces a page it wrote, never a user's D/index.html.
  @Test("report --out a folder holding the user's index.html: exit 2, the file unchanged; its own page is replaced")
  func reportKeepsUserPage() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/mine", withIntermediateDirectories: true)
    let mine = Data("<html>my notes</html>\n".utf8)
    try mine.write(to: URL(fileURLWithPath: dir + "/mine/index.html"))
    let refused = try runProduct(["report", HostileInputTests.finished, "--out", dir + "/mine"])
    #expect(refused.status == 2, "\(refused.stderr)")
    #expect(refused.stderr.hasPrefix("error: --out: ") && refused.stderr.contains("index.html"), "\(refused.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/mine/index.html")) == mine)
    for _ in 0..<2 {
      let r = try runProduct(["report", HostileInputTests.finished, "--out", dir + "/page"])
      #expect(r.status == 0, "\(r.stderr)")
    }
  }

  /// A checkpoint sidecar claiming a negative step is malformed (eval accepted `step: -5`).
  @Test("eval of a checkpoint whose sidecar says step -5: exit 2 naming the sidecar and the step")
  func evalNegativeStep() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = dir + "/run"
    try FileManager.default.copyItem(atPath: HostileInputTests.finished, toPath: run)
    let sidecar = run + "/final.json"
    var meta = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecar))) as? [String: Any])
    meta["step"] = -5
    try JSONSerialization.data(withJSONObject: meta).write(to: URL(fileURLWithPath: sidecar))
    let r = try runProduct([
      "eval", "--checkpoint", run + "/final.safetensors", "--config", try Self.config(dir), "--data-root",
      SmallRunConfig.root,
    ])
    #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1 && errors[0].contains("final.json") && errors[0].contains("-5"), "\(r.stderr)")
  }

  /// A user's file where a sweep would write a cell's log is never overwritten.
  @Test("sweep into a folder holding the user's default-s1.log: exit 2 naming it, the file unchanged")
  func sweepKeepsUserLog() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/sweep", withIntermediateDirectories: true)
    let mine = Data("my notes\n".utf8)
    try mine.write(to: URL(fileURLWithPath: dir + "/sweep/default-s1.log"))
    let r = try runProduct([
      "sweep", "--config", try Self.config(dir), "--out", dir + "/sweep", "--data-root", SmallRunConfig.root,
    ])
    #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
    #expect(r.stderr.contains("default-s1.log"), "\(r.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/sweep/default-s1.log")) == mine)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/sweep") == ["default-s1.log"])
  }

  /// A file that cannot be written (here: larger than `ulimit -f`, as on a full disk) ends the
  /// command with exit 1, as documented, and one line naming that file (it was 2, and
  /// "cannot write checkpoint" even for other files).
  @Test("a write that fails (RLIMIT_FSIZE): exit 1 and one line naming the file, for train, report and export")
  func writeFails() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let exe = productsDirectory().appendingPathComponent("gradmix").path
    func limited(_ kib: Int, _ args: [String]) throws -> MeasuredResult {
      try runMeasured("/bin/bash", ["-c", "trap '' XFSZ; ulimit -f \(kib); exec \"$0\" \"$@\"", exe] + args)
    }
    let cases: [(String, Int, [String], String)] = [
      (
        "train", 30,
        [
          "train", "--config", try Self.config(dir), "--data-root", SmallRunConfig.root, "--out", dir + "/run",
          "--quiet",
        ], ".safetensors"
      ),
      ("report", 2, ["report", HostileInputTests.finished, "--out", dir + "/page"], dir + "/page/index.html"),
    ]
    for (name, kib, args, file) in cases {
      let r = try limited(kib, args)
      #expect(r.signal == nil && r.status == 1, "\(name): \(r.status.map(String.init) ?? "signal"): \(r.stderr)")
      let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
      #expect(
        errors.count == 1 && errors[0].contains(file) && errors[0].contains("cannot write"), "\(name): \(r.stderr)")
    }
    let copy = dir + "/copy"
    try FileManager.default.copyItem(atPath: HostileInputTests.finished, toPath: copy)
    // More step records than 2 KiB of CSV hold.
    let metrics = try String(contentsOfFile: copy + "/metrics.jsonl", encoding: .utf8)
    try Data(String(repeating: metrics, count: 20).utf8).write(to: URL(fileURLWithPath: copy + "/metrics.jsonl"))
    let r = try limited(2, ["export", copy])
    #expect(r.signal == nil && r.status == 1, "export: \(r.stderr)")
    #expect(r.stderr.hasPrefix("error: \(copy)/metrics.csv: cannot write: File too large"), "export: \(r.stderr)")
  }

  /// A refused option under mpirun is printed once (by rank 0), not once per rank.
  @Test("mpirun -np 3 train --threads 0: one error line for the job", .enabled(if: mpirunPath != nil))
  func refusedOptionOnce() throws {
    let dir = try makeTemporaryDirectory("gradmix-checks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try MPITests.mpi(3, "gradmix", ["train", "--config", try Self.config(dir), "--threads", "0"])
    #expect(r.status != 0)
    let errors = (r.stdout + r.stderr).split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errors.count == 1 && errors[0].contains("--threads"), "\(r.stdout)\(r.stderr)")
  }
}
