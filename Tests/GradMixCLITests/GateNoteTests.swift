import Foundation
import GradMixTestSupport
import Testing

/// The end-of-run note of the default rule: a source the label gate kept
/// closed for the whole counted run (summary.json `layer_open_share` 0 in
/// every layer) is named on stderr, so a user sees that it added nothing.
@Suite("The label gate's end-of-run note")
struct GateNoteTests {
  /// The target has classes 0-4; `syndigits[5-9]` shares none of them, so the
  /// per-class check closes it in every step; `mnist[0-4]` shares them all.
  static let config = """
    model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
    classes: 10
    steps: 60
    batch_size: 10
    sources:
      - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}
      - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}
    target: {domain: mnist-m, split: test, classes: [0, 1, 2, 3, 4], labelled_per_class: 3, unlabelled: 80, test: 80}
    optimizer: {lr: 0.05, momentum: 0.9}
    """

  static func train(_ dir: String, _ name: String, _ args: [String]) throws -> ProcessResult {
    let cfg = dir + "/c.yaml"
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
}
