import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@testable import GradMixData

/// Issue #12's promise, as a table: every hostile input ends with exit
/// status 2 and exactly one `error:` line naming the file or field (faults:
/// their documented status), no signal death, and bounded memory.
@Suite("Hostile inputs")
struct HostileInputTests {
  /// One hostile input: the arguments (built in a fresh folder), the status and what the error line must name.
  struct Case: CustomStringConvertible, Sendable {
    let name: String
    var status: Int32 = 2
    /// Substrings the one `error:` line must contain (the file or the field).
    let mentions: [String]
    /// Peak memory bound in MiB (the size cases).
    var maxMiB: Int = 400
    let arguments: @Sendable (Fixture) throws -> [String]
    var description: String { name }
  }

  /// Shared inputs: the synthetic data root, a finished run, and a per-case folder.
  struct Fixture: Sendable {
    let root: String
    let finished: String
    let dir: String

    /// The base config with `edit` applied to its text, written to `dir/c.yaml`.
    func config(_ edit: (String) -> String = { $0 }) throws -> String {
      let path = dir + "/c.yaml"
      try Data(edit(HostileInputTests.config).utf8).write(to: URL(fileURLWithPath: path))
      return path
    }

    func train(_ extra: [String], edit: (String) -> String = { $0 }) throws -> [String] {
      ["train", "--config", try config(edit), "--data-root", root, "--out", dir + "/run", "--quiet"] + extra
    }

    /// A copy of the data root whose `mnist/train-images-idx3-ubyte` (or another file) holds `bytes`.
    func root(replacing file: String, with bytes: [UInt8]) throws -> String {
      let copy = dir + "/root"
      try FileManager.default.copyItem(atPath: root, toPath: copy)
      try? FileManager.default.removeItem(atPath: copy + "/" + file)
      try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + file))
      return copy
    }

    func write(_ text: String, to name: String) throws -> String {
      let path = dir + "/" + name
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
      return path
    }
  }

  static let config = SmallRunConfig.text(steps: 4, evalEvery: 2, logEvery: 2, extra: ["checkpoint_every: 2"])

  static var root: String { SmallRunConfig.root }

  /// A finished 4-step run, shared by the resume and eval cases (read only).
  static let finished: String = {
    guard let dir = try? makeTemporaryDirectory("gradmix-hostile-run") else { return "/nonexistent" }
    try? Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    _ = try? runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", root, "--out", dir + "/run", "--quiet",
      "--threads", "1",
    ])
    return dir + "/run"
  }()

  static func replace(_ a: String, _ b: String) -> @Sendable (String) -> String {
    { text in text.replacingOccurrences(of: a, with: b) }
  }

  static func idx(_ dims: [Int], _ body: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, 8, UInt8(dims.count)]
    for d in dims { out += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
    return out + body
  }

  /// A copy of the finished run (for cases that change it).
  static func runCopy(_ f: Fixture) throws -> String {
    let copy = f.dir + "/copy"
    try FileManager.default.copyItem(atPath: f.finished, toPath: copy)
    return copy
  }

  static let cases: [Case] = {
    let r = replace
    var c: [Case] = [
      // Arguments.
      Case(name: "--steps -1", mentions: ["--steps", "-1"]) { try $0.train(["--steps", "-1"]) },
      Case(name: "--steps 0", mentions: ["--steps"]) { try $0.train(["--steps", "0"]) },
      Case(name: "--steps x", mentions: ["--steps"]) { try $0.train(["--steps", "x"]) },
      Case(name: "--threads 0", mentions: ["--threads"]) { try $0.train(["--threads", "0"]) },
      Case(name: "--threads 100000", mentions: ["--threads"]) { try $0.train(["--threads", "100000"]) },
      Case(name: "--step-timeout 0", mentions: ["--step-timeout"]) { try $0.train(["--step-timeout", "0"]) },
      Case(name: "--step-timeout -2", mentions: ["--step-timeout"]) { try $0.train(["--step-timeout", "-2"]) },
      Case(name: "--step-timeout nan", mentions: ["--step-timeout"]) { try $0.train(["--step-timeout", "nan"]) },
      Case(name: "--step-timeout 1e9", mentions: ["--step-timeout"]) { try $0.train(["--step-timeout", "1e9"]) },
      Case(name: "--step-timeout abc", mentions: ["--step-timeout"]) { try $0.train(["--step-timeout", "abc"]) },
      Case(name: "unknown option", mentions: ["--bogus"]) { try $0.train(["--bogus"]) },
      Case(name: "--method", mentions: ["--method"]) { try $0.train(["--method", "nope"]) },
      Case(name: "--comm", mentions: ["--comm"]) { try $0.train(["--comm", "nope"]) },
      Case(name: "--target-gradient", mentions: ["--target-gradient"]) { try $0.train(["--target-gradient", "x"]) },
      Case(name: "--check-every -3", mentions: ["--check-every"]) { try $0.train(["--check-every", "-3"]) },
      Case(name: "--overlap --comm gather", mentions: ["--overlap"]) {
        try $0.train(["--overlap", "--comm", "gather"])
      },
      Case(name: "--inject-nan unknown source", mentions: ["--inject-nan", "nosuch"]) {
        try $0.train(["--inject-nan", "nosuch@1-2"])
      },
      Case(name: "--inject-nan twice", mentions: ["--inject-nan"]) {
        try $0.train(["--inject-nan", "target@1-2", "--inject-nan", "target@2-3"])
      },
      Case(name: "--inject-nan malformed", mentions: ["--inject-nan"]) { try $0.train(["--inject-nan", "target"]) },
      Case(name: "--seed -1", mentions: ["--seed"]) { try $0.train(["--seed", "-1"]) },
      Case(name: "--seed abc", mentions: ["--seed"]) { try $0.train(["--seed", "abc"]) },
      Case(name: "neither --config nor --resume", mentions: ["--config"]) { _ in ["train"] },
      Case(name: "--config and --resume", mentions: ["--resume"]) { try $0.train(["--resume", $0.finished]) },
      Case(name: "unknown subcommand", mentions: ["bogus"]) { _ in ["bogus"] },
      // The config file.
      Case(name: "config not found", mentions: ["nope.yaml"]) { f in ["train", "--config", f.dir + "/nope.yaml"] },
      Case(name: "config is a folder", mentions: ["is a directory"]) { f in ["train", "--config", f.dir] },
      Case(name: "config is a device", mentions: ["/dev/null"]) { _ in ["train", "--config", "/dev/null"] },
      Case(name: "config empty", mentions: ["e.yaml"]) { f in ["train", "--config", try f.write("", to: "e.yaml")] },
      Case(name: "config not YAML", mentions: ["y.yaml"]) { f in
        ["train", "--config", try f.write("a: [1, 2\n", to: "y.yaml")]
      },
      Case(name: "unknown key", mentions: ["c.yaml", "stepz"]) { try $0.train([], edit: r("steps: 4", "stepz: 4")) },
      Case(name: "steps 0", mentions: ["c.yaml", "steps"]) { try $0.train([], edit: r("steps: 4", "steps: 0")) },
      Case(name: "classes 1", mentions: ["c.yaml", "classes"]) {
        try $0.train([], edit: r("classes: 10", "classes: 1"))
      },
      Case(name: "bad model spec", mentions: ["c.yaml", "model.spec"]) {
        try $0.train([], edit: r("conv6k5s2", "convXk5"))
      },
      Case(name: "model.input [6,28,28]", mentions: ["c.yaml", "model.input", "[6, 28, 28]"]) {
        try $0.train([], edit: r("fc10}", "fc10, input: [6, 28, 28]}"))
      },
      Case(name: "model.input [3, 100000, 100000]", mentions: ["c.yaml", "model.input"], maxMiB: 200) {
        try $0.train([], edit: r("fc10}", "fc10, input: [3, 100000, 100000]}"))
      },
      Case(name: "batch_size 1e9", mentions: ["c.yaml", "needs about", "batch"], maxMiB: 200) {
        try $0.train([], edit: r("batch_size: 10", "batch_size: 1000000000"))
      },
      Case(name: "conv1000000k5", mentions: ["c.yaml", "needs about"], maxMiB: 200) {
        try $0.train([], edit: r("conv6k5s2", "conv1000000k5s2"))
      },
      Case(name: "fc100000000", mentions: ["c.yaml", "needs about"], maxMiB: 200) {
        try $0.train([], edit: r("conv6k5s2-relu-pool2-fc24-relu-fc10", "fc100000000-fc10"))
      },
      Case(name: "batch_size 0", mentions: ["c.yaml", "batch_size"]) {
        try $0.train([], edit: r("batch_size: 10", "batch_size: 0"))
      },
      Case(name: "batch_size -5", mentions: ["c.yaml", "batch_size"]) {
        try $0.train([], edit: r("batch_size: 10", "batch_size: -5"))
      },
      Case(name: "no sources", mentions: ["c.yaml", "sources"]) {
        try $0.train(
          [],
          edit: { t in
            t.replacingOccurrences(
              of:
                "sources:\n  - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}\n  - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}",
              with: "sources: []")
          })
      },
      Case(name: "unknown domain", mentions: ["c.yaml", "sources[0].domain"]) {
        try $0.train([], edit: r("domain: mnist,", "domain: nope,"))
      },
      Case(name: "duplicate source", mentions: ["c.yaml", "sources[1].name"]) {
        try $0.train(
          [],
          edit: r("syndigits, split: train, classes: [5, 6, 7, 8, 9]", "mnist, split: train, classes: [0, 1, 2, 3, 4]"))
      },
      Case(name: "empty class list", mentions: ["c.yaml", "sources[0].classes"]) {
        try $0.train([], edit: r("[0, 1, 2, 3, 4]", "[]"))
      },
      Case(name: "class out of range", mentions: ["c.yaml", "sources[0].classes"]) {
        try $0.train([], edit: r("[0, 1, 2, 3, 4]", "[0, 12]"))
      },
      Case(name: "label_map without an entry", mentions: ["c.yaml", "sources[0].label_map"]) {
        try $0.train([], edit: r("[0, 1, 2, 3, 4]}", "[0, 1, 2, 3, 4], label_map: {0: 0, 1: 1}}"))
      },
      Case(name: "label_map out of range", mentions: ["c.yaml", "sources[0].label_map"]) {
        try $0.train([], edit: r("[0, 1, 2, 3, 4]}", "[0, 1], label_map: {0: 0, 1: 99}}"))
      },
      Case(name: "limit 0", mentions: ["c.yaml", "sources[0].limit"]) {
        try $0.train([], edit: r("[0, 1, 2, 3, 4]}", "[0, 1, 2, 3, 4], limit: 0}"))
      },
      Case(name: "unknown split", mentions: ["c.yaml", "target.split", "train, test"]) {
        try $0.train([], edit: r("split: test", "split: validation"))
      },
      Case(name: "target: too many labelled", mentions: ["c.yaml", "target"]) {
        try $0.train([], edit: r("labelled_per_class: 3", "labelled_per_class: 300"))
      },
      Case(name: "target: too many test", mentions: ["c.yaml", "target"]) {
        try $0.train([], edit: r("test: 200", "test: 20000"))
      },
      Case(name: "target.test 0", mentions: ["c.yaml", "target.test"]) {
        try $0.train([], edit: r("test: 200", "test: 0"))
      },
      Case(name: "lr negative", mentions: ["c.yaml", "optimizer.lr"]) {
        try $0.train([], edit: r("lr: 0.05", "lr: -1"))
      },
      Case(name: "momentum 1.5", mentions: ["c.yaml", "optimizer.momentum"]) {
        try $0.train([], edit: r("momentum: 0.9", "momentum: 1.5"))
      },
      Case(name: "schedule kind", mentions: ["c.yaml", "optimizer.schedule.kind"]) {
        try $0.train([], edit: r("momentum: 0.9}", "momentum: 0.9, schedule: {kind: wobbly}}"))
      },
      Case(name: "weight_score (removed)", mentions: ["c.yaml", "weight_score", "removed 2026-12-05"]) {
        try $0.train([], edit: { $0 + "\nweight_score: source-norm\n" })
      },
      Case(name: "eval_every 0", mentions: ["c.yaml", "eval_every"]) {
        try $0.train([], edit: r("eval_every: 2", "eval_every: 0"))
      },
      Case(name: "pseudo threshold 2", mentions: ["c.yaml", "pseudo_labels.threshold"]) {
        try $0.train([], edit: { $0 + "\npseudo_labels: {warmup: 1, every: 1, threshold: 2, per_class_cap: 5}\n" })
      },
      Case(name: "steps as text", mentions: ["c.yaml", "steps"]) {
        try $0.train([], edit: r("steps: 4", "steps: four"))
      },
      // Output folders.
      Case(name: "--out is a file", mentions: ["--out", "f.txt"]) { f in
        try f.train([]).map { $0 == f.dir + "/run" ? try f.write("x", to: "f.txt") : $0 }
      },
      Case(name: "--out holds the user's files", mentions: ["--out", "notes.txt"]) { f in
        try FileManager.default.createDirectory(atPath: f.dir + "/run", withIntermediateDirectories: true)
        _ = try f.write("mine", to: "run/notes.txt")
        return try f.train([])
      },
      Case(name: "--out holds a run", mentions: ["--out", "already holds a run"]) { f in
        try f.train([]).map { $0 == f.dir + "/run" ? f.finished : $0 }
      },
      Case(name: "--out under a file", mentions: ["--out"]) { f in
        let file = try f.write("x", to: "g.txt")
        return try f.train([]).map { $0 == f.dir + "/run" ? file + "/run" : $0 }
      },
      Case(name: "--trace in a missing folder", mentions: ["--trace"]) { f in
        try f.train(["--trace", f.dir + "/no/t.jsonl"])
      },
      // Resume.
      Case(name: "--resume missing", mentions: ["--resume"]) { f in ["train", "--resume", f.dir + "/none"] },
      Case(name: "--resume a non-run", mentions: ["--resume", "run.json"]) { f in ["train", "--resume", f.dir] },
      Case(name: "--resume a finished run", mentions: ["--resume", "finished"]) { f in
        ["train", "--resume", f.finished]
      },
      Case(name: "--resume with --method", mentions: ["--resume"]) { f in
        ["train", "--resume", f.finished, "--method", "uniform"]
      },
      Case(name: "--resume an edited config", mentions: ["config.yaml", "optimizer.lr"]) { f in
        let run = try runCopy(f)
        try FileManager.default.removeItem(atPath: run + "/summary.json")
        let text = try String(contentsOfFile: run + "/config.yaml", encoding: .utf8)
        try Data(text.replacingOccurrences(of: "lr: 0.05", with: "lr: 0.07").utf8).write(
          to: URL(fileURLWithPath: run + "/config.yaml"))
        return ["train", "--resume", run]
      },
      Case(name: "--resume with other --threads", mentions: ["--threads"]) { f in
        let run = try runCopy(f)
        try FileManager.default.removeItem(atPath: run + "/summary.json")
        return ["train", "--resume", run, "--threads", "2"]
      },
      // Data files.
      Case(name: "data root missing", mentions: ["nowhere"]) { f in
        try f.train([]).map { $0 == f.root ? f.dir + "/nowhere" : $0 }
      },
      Case(name: "0-image train file", mentions: ["c.yaml", "sources[0]"]) { f in
        let root = try f.root(replacing: "mnist/train-images-idx3-ubyte", with: idx([0, 28, 28], []))
        try Data(idx([0], [])).write(to: URL(fileURLWithPath: root + "/mnist/train-labels-idx1-ubyte"))
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      Case(name: "truncated IDX", mentions: ["train-images-idx3-ubyte", "truncated"]) { f in
        let root = try f.root(
          replacing: "mnist/train-images-idx3-ubyte", with: idx([400, 28, 28], [UInt8](repeating: 1, count: 1000)))
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      Case(name: "bad IDX magic", mentions: ["train-images-idx3-ubyte", "magic"]) { f in
        let root = try f.root(replacing: "mnist/train-images-idx3-ubyte", with: [1, 2, 3, 4, 5, 6, 7, 8])
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      Case(name: "label out of range", mentions: ["train-labels-idx1-ubyte"]) { f in
        let root = try f.root(
          replacing: "mnist/train-labels-idx1-ubyte", with: idx([400], [UInt8](repeating: 200, count: 400)))
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      Case(name: "gzip bomb", mentions: ["train-images-idx3-ubyte"], maxMiB: 200) { f in
        // A header for 10 images, then 256 MiB of zeros: 256 KiB compressed.
        let bomb = try FileBytes.gzip(idx([10, 28, 28], []) + [UInt8](repeating: 0, count: 1 << 28), path: "bomb")
        let root = try f.root(replacing: "mnist/train-images-idx3-ubyte", with: bomb)
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      Case(name: "gzip promising 78 GB", mentions: ["train-images-idx3-ubyte", "truncated"], maxMiB: 200) { f in
        let gz = try FileBytes.gzip(idx([100_000_000, 28, 28], [UInt8](repeating: 0, count: 1000)), path: "big")
        let root = try f.root(replacing: "mnist/train-images-idx3-ubyte", with: gz)
        return try f.train([]).map { $0 == f.root ? root : $0 }
      },
      // eval and inspect.
      Case(name: "eval: missing checkpoint", mentions: ["nope.safetensors", "not found"]) { f in
        ["eval", "--checkpoint", f.dir + "/nope.safetensors", "--config", try f.config(), "--data-root", f.root]
      },
      Case(name: "eval: a device", mentions: ["/dev/null", "regular file"]) { f in
        ["eval", "--checkpoint", "/dev/null", "--config", try f.config(), "--data-root", f.root]
      },
      Case(name: "eval: formatVersion 99", mentions: ["final.json", "formatVersion 99"]) { f in
        let run = try runCopy(f)
        let text = try String(contentsOfFile: run + "/final.json", encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 99").utf8)
          .write(to: URL(fileURLWithPath: run + "/final.json"))
        return ["eval", "--checkpoint", run + "/final.safetensors", "--config", try f.config(), "--data-root", f.root]
      },
      Case(name: "eval: NaN weights", mentions: ["nan.safetensors", "NaN"]) { f in
        let model = try Sequential(spec: "conv6k5s2-relu-pool2-fc24-relu-fc10", inputShape: Shape([3, 28, 28]))
        let p = model.makeParameters(seed: 1)
        p.storage[5] = .nan
        try Checkpoint.save(
          to: f.dir + "/nan.safetensors", model: model, parameters: p,
          metadata: CheckpointMetadata(model: model, step: 4))
        return ["eval", "--checkpoint", f.dir + "/nan.safetensors", "--config", try f.config(), "--data-root", f.root]
      },
      Case(name: "eval: corrupt checkpoint", mentions: ["final.safetensors", "checksum"]) { f in
        let run = try runCopy(f)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: run + "/final.safetensors"))
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: run + "/final.safetensors"))
        return ["eval", "--checkpoint", run + "/final.safetensors", "--config", try f.config(), "--data-root", f.root]
      },
      Case(name: "eval: missing --config", mentions: ["--config"]) { f in
        ["eval", "--checkpoint", f.finished + "/final.safetensors"]
      },
      Case(name: "inspect: missing file", mentions: ["none-ubyte"]) { f in ["data", "inspect", f.dir + "/none-ubyte"] },
      Case(name: "inspect: truncated", mentions: ["t-images-idx3-ubyte", "truncated"]) { f in
        [
          "data", "inspect",
          try f.write(String(decoding: idx([5, 28, 28], [1, 2, 3]), as: UTF8.self), to: "t-images-idx3-ubyte"),
        ]
      },
      Case(name: "inspect: --split", mentions: ["--split"]) { _ in ["data", "inspect", "mnist", "--split", "dev"] },
      Case(name: "inspect: --scale 0", mentions: ["--scale"]) { _ in ["data", "inspect", "mnist", "--scale", "0"] },
      // Faults with their own documented status.
      Case(name: "diverging lr", status: 3, mentions: ["diverged since step", "status"]) {
        try $0.train([], edit: r("lr: 0.05", "lr: 1000000"))
      },
      Case(name: "full disk while writing the trace", status: 1, mentions: ["/dev/full", "No space left"]) {
        try $0.train(["--trace", "/dev/full"])
      },
    ]
    c.sort { $0.name < $1.name }
    return c
  }()

  /// The table itself, which the per-case test cannot check: at least 60
  /// cases (issue #12), distinct names (a case's results are reported under
  /// its name), and for each a non-empty list of non-empty substrings its
  /// error line must name (an empty one would make "names the file or
  /// field" vacuous) and a failure status (a case expecting 0 would not be
  /// hostile input).
  @Test("the table: at least 60 distinct cases, each with what its error line must name and a failure status")
  func table() {
    #expect(Self.cases.count >= 60)
    let names = Self.cases.map(\.name)
    let repeated = Dictionary(grouping: names, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
    #expect(repeated.isEmpty, "cases share a name: \(repeated)")
    for c in Self.cases {
      #expect(!c.mentions.isEmpty && !c.mentions.contains(""), "\(c.name): names nothing its error line must contain")
      #expect(c.status != 0, "\(c.name): expects success")
    }
  }

  @Test(
    "each hostile input: its status, one error line naming the file or field, no signal, bounded memory",
    arguments: cases)
  func hostile(_ c: Case) throws {
    let dir = try makeTemporaryDirectory("gradmix-hostile")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let fixture = Fixture(root: Self.root, finished: Self.finished, dir: dir)
    let args = try c.arguments(fixture)
    let exe = productsDirectory().appendingPathComponent("gradmix").path
    let r = try runMeasured(exe, args)
    #expect(r.signal == nil, "\(c.name): killed by signal \(r.signal ?? 0): \(r.stderr.suffix(600))")
    #expect(r.status == c.status, "\(c.name): status \(r.status.map(String.init) ?? "-"): \(r.stderr.suffix(600))")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(c.name): \(r.stderr.suffix(800))")
    let line = String(errors.first ?? "")
    #expect(line.hasPrefix("error: "), "\(c.name): \(line)")
    for m in c.mentions { #expect(line.contains(m), "\(c.name): '\(line)' does not name '\(m)'") }
    #expect(r.maxRSSKiB < c.maxMiB * 1024, "\(c.name): peak memory \(r.maxRSSKiB / 1024) MiB")
    // Nothing of the user's is touched.
    if c.name == "--out holds the user's files" {
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/run") == ["notes.txt"])
    }
  }
}
