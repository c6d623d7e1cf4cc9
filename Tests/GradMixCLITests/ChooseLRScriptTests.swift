import Foundation
import GradMixRecords
import GradMixTestSupport
import Testing

/// `scripts/report/choose_lr.py` (the suite's learning-rate table) on fake validation runs: it picks
/// each (task, method)'s best rate, ignores rule variants, and with `--keep-others` keeps the earlier
/// table's rows of the methods the runs do not hold.
@Suite("choose_lr.py")
struct ChooseLRScriptTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  /// The binary the script reads the suite's methods from (`gradmix info --methods --suite`).
  static let gradmix = productsDirectory().appendingPathComponent("gradmix").path
  static let python: String? = [
    ProcessInfo.processInfo.environment["GRADMIX_PYTHON"], "/usr/bin/python3", "/usr/local/bin/python3",
  ].compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }

  /// One completed validation run of `method` on suite task `task` with these overrides.
  static func run(
    _ dir: String, task: String, method: String, tag: String, seed: Int, overrides: String, accuracy: Double
  ) throws {
    let runDir = "\(dir)/runs/\(task)/\(tag)-s\(seed)"
    try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
    var summary = RunSummary()
    summary.evalSplit = "validation"
    summary.status = "completed"
    summary.method = method
    summary.seed = seed
    summary.config = repository.path + "/experiments/suite/\(task)/config.yaml"
    summary.command = "gradmix train --config c.yaml --method \(method) \(overrides) --seed \(seed)"
    summary.targetAccuracy = accuracy
    try RecordCoding.encode(summary).write(to: URL(fileURLWithPath: runDir + "/summary.json"))
  }

  @Test(
    "the best rate per (task, method), variants ignored; --keep-others keeps the other methods' rows",
    .enabled(if: python != nil, "needs python3"))
  func chooseAndKeep() throws {
    let dir = try makeTemporaryDirectory("gradmix-choose-lr")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for seed in 1...2 {
      try Self.run(
        dir, task: "digits", method: "gated-pcgrad", tag: "gated-pcgrad", seed: seed, overrides: "", accuracy: 0.5)
      try Self.run(
        dir, task: "digits", method: "gated-pcgrad", tag: "lr3", seed: seed, overrides: "optimizer.lr=0.03",
        accuracy: 0.7)
      try Self.run(
        dir, task: "digits", method: "gated-pcgrad", tag: "lr5", seed: seed, overrides: "optimizer.lr=0.05",
        accuracy: 0.6 + 0.01 * Double(seed))
      // A rule variant at a better accuracy is not a point of the grid.
      try Self.run(
        dir, task: "digits", method: "gated-pcgrad", tag: "v", seed: seed,
        overrides: "optimizer.lr=0.05 weighting.hold=0",
        accuracy: 0.9)
    }
    let tsv = dir + "/lr.tsv", md = dir + "/lr.md"
    // The earlier table: a uniform row to keep and a gated-pcgrad row to replace.
    try "# task\tmethod\tlr\ndigits\tuniform\t0.05\ndigits\tgated-pcgrad\t0.01\n".write(
      toFile: tsv, atomically: true, encoding: .utf8)
    try """
    # old
    | task | method | lr 0.01 | lr 0.03 | lr 0.05 | seeds |
    |---|---|---|---|---|---|
    | digits | `uniform` | 60.00 | 70.00 | **75.00** | 5 |
    | digits | `gated-pcgrad` | **99.00** | 1.00 | 1.00 | 5 |

    """.write(toFile: md, atomically: true, encoding: .utf8)
    let script = Self.repository.path + "/scripts/report/choose_lr.py"
    let python = try #require(Self.python)
    let r = try runProgram(
      python,
      [
        script, "--runs", dir + "/runs", "--rates", "0.01", "0.03", "0.05", "--tsv", tsv, "--markdown", md,
        "--keep-others", "--bin", Self.gradmix,
      ])
    #expect(r.status == 0, "\(r.stderr)")
    let rows = try String(contentsOfFile: tsv, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
    #expect(rows == ["digits\tgated-pcgrad\t0.03", "digits\tuniform\t0.05"])
    let report = try String(contentsOfFile: md, encoding: .utf8)
    #expect(report.contains("| digits | `uniform` | 60.00 | 70.00 | **75.00** | 5 |"))
    #expect(report.contains("| digits | `gated-pcgrad` | 50.00 | **70.00** | 61.50 | 2 |"))
    #expect(!report.contains("99.00"))
    // Without --keep-others the table holds only what the runs hold.
    let fresh = try runProgram(
      python,
      [
        script, "--runs", dir + "/runs", "--rates", "0.01", "0.03", "0.05", "--tsv", tsv, "--markdown", md, "--bin",
        Self.gradmix,
      ])
    #expect(fresh.status == 0)
    #expect(!(try String(contentsOfFile: tsv, encoding: .utf8)).contains("uniform"))
  }
}
