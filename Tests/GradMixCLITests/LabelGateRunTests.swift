import Foundation
import GradMixTestSupport
import Testing

/// The default rule's label gate through the CLI: its end-of-run note (a
/// source kept closed for the whole counted run, summary.json
/// `layer_open_share` 0 in every layer, is named on stderr, so a user sees
/// that it added nothing) and its cost at many classes.
@Suite("The label gate in a run: end-of-run note, many classes")
struct LabelGateRunTests {
  /// The target has classes 0-4; `syndigits[5-9]` shares none of them, so the
  /// per-class check closes it in every step; `mnist[0-4]` shares them all.
  static let config = SmallRunConfig.text(steps: 60, evalEvery: 60, logEvery: 10).replacingOccurrences(
    of: "target: {domain: mnist-m, split: test, labelled_per_class: 3, unlabelled: 150, test: 200}",
    with:
      "target: {domain: mnist-m, split: test, classes: [0, 1, 2, 3, 4], labelled_per_class: 3, unlabelled: 80, test: 80}"
  )

  static func train(_ dir: String, _ name: String, _ args: [String]) throws -> ProcessResult {
    let cfg = dir + "/c.yaml"
    try #require(config.contains("classes: [0, 1, 2, 3, 4], labelled_per_class"))
    try Data(config.utf8).write(to: URL(fileURLWithPath: cfg))
    let r = try runProduct(
      [
        "train", "--config", cfg, "--data-root", SmallRunConfig.root, "--out", dir + "/" + name, "--quiet",
        "--threads", "1",
      ] + args)
    try #require(r.status == 0, "\(r.stderr)")
    return r
  }

  @Test("a source closed in every counted step is named once; none with the gate off or the run inside the hold")
  func namesTheClosedSource() throws {
    let dir = try makeTemporaryDirectory("gradmix-gate-note")
    let notes = { (r: ProcessResult) in r.stderr.split(separator: "\n").filter { $0.hasPrefix("note: the label gate") }
    }
    let gated = try Self.train(dir, "gated", [])
    let shares = try #require(try MPITests.summary(dir + "/gated").layerOpenShare)
    #expect(shares["syndigits[5-9]"] == [0, 0, 0], "\(shares)")
    #expect(notes(gated).count == 1, "\(gated.stderr)")
    #expect(notes(gated).first?.contains("'syndigits[5-9]' closed in every step after step 12") == true)
    // The run's last stdout line is still the result line.
    #expect(gated.stdout.split(separator: "\n").last?.hasPrefix("done: ") == true, "\(gated.stdout)")
    #expect(notes(try Self.train(dir, "open", ["weighting.label_gate=false"])).isEmpty)
    // 8 steps, all within the 10-step hold: every source is closed by the hold, not by the gate.
    #expect(notes(try Self.train(dir, "held", ["--steps", "8"])).isEmpty)
  }

  /// The per-class check keeps C² values per source and step (3.2 GB each at 20,000 classes; it crashed
  /// there before the limit): above 256 classes it is off by default and an explicit `true` is refused.
  @Test("20,000 classes: the default gate runs without the per-class check in bounded memory; label_match=true exits 2")
  func manyClasses() throws {
    let dir = try makeTemporaryDirectory("gradmix-gate-classes")
    let cfg = dir + "/c.yaml"
    let text = Self.config.replacingOccurrences(of: "fc10}\nclasses: 10", with: "fc20000}\nclasses: 20000")
      .replacingOccurrences(of: "steps: 60", with: "steps: 12")
    try #require(text.contains("classes: 20000"))
    try Data(text.utf8).write(to: URL(fileURLWithPath: cfg))
    let exe = productsDirectory().appendingPathComponent("gradmix").path
    let base = ["train", "--config", cfg, "--data-root", SmallRunConfig.root, "--quiet", "--threads", "1"]
    let r = try runMeasured(exe, base + ["--out", dir + "/run"])
    #expect(r.status == 0 && r.signal == nil, "\(r.stderr.suffix(600))")
    #expect(r.maxRSSKiB < 1024 * 1024, "peak memory \(r.maxRSSKiB / 1024) MiB")
    let resolved = try String(contentsOfFile: dir + "/run/config.resolved.yaml", encoding: .utf8)
    #expect(resolved.contains("label_match: false") && resolved.contains("label_gate: true"), "\(resolved)")
    let refused = try runMeasured(exe, base + ["--out", dir + "/refused", "weighting.label_match=true"])
    #expect(refused.status == 2, "\(refused.stderr)")
    let errors = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errors.count == 1 && errors[0].contains("weighting.label_match") && errors[0].contains("256"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/refused"))
  }
}
