import Foundation
import GradMixData
import GradMixEngine
import GradMixRecords
import GradMixTestSupport
import Testing

/// Transfer from a pretrained network through the CLI: `model.init` (strict,
/// exit 2 with one line for a wrong file, SHA-256 in run.json, not re-read by
/// --resume), `model.freeze` (frozen tensors bit-identical to the loaded ones,
/// at 1 process and 3 ranks, fewer allreduce bytes) and `optimizer.layer_lr`.
@Suite("Transfer: model.init, model.freeze, optimizer.layer_lr", .serialized)
struct TransferTests {
  static let root = SmallRunConfig.root
  static let spec = "conv6k5s2-bn-relu-pool2-fc24-relu-fc10"

  static func config(_ model: String, steps: Int = 6, extra: [String] = []) -> String {
    SmallRunConfig.text(steps: steps, evalEvery: steps, logEvery: steps, extra: extra)
      .replacingOccurrences(of: "model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}", with: "model: \(model)")
  }

  /// A finished source run in `dir/source`; its final.safetensors is the weights file.
  static func pretrained(_ dir: String) throws -> String {
    try Data(config("{spec: \(spec)}").utf8).write(to: URL(fileURLWithPath: dir + "/source.yaml"))
    let r = try runProduct([
      "train", "--config", dir + "/source.yaml", "--data-root", root, "--out", dir + "/source", "--quiet",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    return dir + "/source/final.safetensors"
  }

  static func tensors(_ path: String) throws -> LoadedCheckpoint {
    try Checkpoint.load(from: path, for: try Sequential(spec: spec, inputShape: Shape([3, 28, 28])))
  }

  static func train(_ dir: String, _ name: String, model: String, extra: [String] = [], args: [String] = [])
    throws -> ProcessResult
  {
    let cfg = dir + "/\(name).yaml"
    try Data(config(model, extra: extra).utf8).write(to: URL(fileURLWithPath: cfg))
    return try runProduct(
      ["train", "--config", cfg, "--data-root", root, "--out", dir + "/" + name, "--quiet", "--threads", "1"] + args)
  }

  /// Compares every tensor of `layers` (a layer's tensors: `conv1`, `bn1` ...) between two checkpoints.
  static func same(_ a: LoadedCheckpoint, _ b: LoadedCheckpoint, prefixes: [String]) throws -> [String: Bool] {
    let model = try Sequential(spec: spec, inputShape: Shape([3, 28, 28]))
    var result: [String: Bool] = [:]
    for e in model.layout.entries where prefixes.contains(where: { e.name.hasPrefix($0 + ".") }) {
      result[e.name] = Array(a.parameters.slice(e.range)) == Array(b.parameters.slice(e.range))
    }
    for e in model.stateLayout.entries where prefixes.contains(where: { e.name.hasPrefix($0 + ".") }) {
      result[e.name] = Array(a.state.slice(e.range)) == Array(b.state.slice(e.range))
    }
    return result
  }

  @Test("wrong weights files: exit 2 and one error line naming the file and the tensor, before any step")
  func wrongFiles() throws {
    let dir = try makeTemporaryDirectory("gradmix-transfer")
    let good = try Self.pretrained(dir)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
    try Data("not weights".utf8).write(to: URL(fileURLWithPath: dir + "/text.safetensors"))
    let cases: [(String, String, String)] = [
      ("{spec: conv6k5s2-bn-relu-pool2-fc24-relu-fc10, init: cut.safetensors}", "truncated", "cut"),
      ("{spec: conv6k5s2-bn-relu-pool2-fc24-relu-fc10, init: text.safetensors}", "not a safetensors file", "text"),
      ("{spec: conv6k5s2-bn-relu-pool2-fc24-relu-fc10, init: nothing.safetensors}", "not found", "missing"),
      // The file's fc1 has 24 outputs; this model's 16 (fc1 and fc2 differ).
      ("{spec: conv6k5s2-bn-relu-pool2-fc16-relu-fc10, init: source/final.safetensors}", "[24, 216]", "shape"),
      // No bn in this model: the file's bn1 tensors are unexpected.
      ("{spec: conv6k5s2-relu-pool2-fc24-relu-fc10, init: source/final.safetensors}", "'bn1.", "extra"),
      (
        "{spec: conv6k5s2-bn-relu-pool2-fc24-relu-fc10, freeze: [conv7]}",
        "model.freeze: unknown layer 'conv7' (layers: conv1, fc1, fc2)", "freeze"
      ),
      (
        "{spec: conv6k5s2-bn-relu-pool2-fc24-relu-fc10, init: source/final.safetensors, init_skip: [head]}",
        "model.init_skip: unknown layer 'head'", "skip"
      ),
    ]
    for (model, expected, name) in cases {
      let r = try Self.train(dir, name, model: model)
      #expect(r.status == 2, "\(name): \(r.stderr)")
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("warning") }
      #expect(lines.count == 1 && lines[0].hasPrefix("error:") && lines[0].contains(expected), "\(name): \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: dir + "/\(name)/metrics.jsonl"), "\(name): nothing trained")
    }
    let lr = try Self.train(dir, "lr", model: "{spec: \(Self.spec)}", args: ["optimizer.layer_lr={fc9: 2}"])
    #expect(lr.status == 2 && lr.stderr.contains("optimizer.layer_lr: unknown layer 'fc9'"), "\(lr.stderr)")
  }

  @Test(
    "init + freeze at 1 process and 3 ranks: frozen tensors (BatchNorm statistics too) bit-identical to the file's; SHA-256 in run.json; resume does not read the file"
  )
  func freezeKeepsLoadedBits() throws {
    let dir = try makeTemporaryDirectory("gradmix-transfer")
    let file = try Self.pretrained(dir)
    try FileManager.default.copyItem(atPath: file, toPath: dir + "/init.safetensors")
    try FileManager.default.copyItem(atPath: dir + "/source/final.json", toPath: dir + "/init.json")
    let loaded = try Self.tensors(dir + "/init.safetensors")
    let model = "{spec: \(Self.spec), init: init.safetensors, init_skip: [fc2], freeze: [conv1]}"
    let one = try Self.train(dir, "one", model: model, extra: ["checkpoint_every: 3"])
    try #require(one.status == 0, "\(one.stderr)")
    var runs = ["one"]
    if let mpirun = mpirunPath {
      let cfg = dir + "/three.yaml"
      try Data(Self.config(model).utf8).write(to: URL(fileURLWithPath: cfg))
      let exe = productsDirectory().appendingPathComponent("gradmix").path
      let r = try runProgram(
        mpirun,
        [
          "-np", "3", "--oversubscribe", exe, "train", "--config", cfg, "--data-root", Self.root, "--out",
          dir + "/three", "--quiet", "--threads", "1",
        ], environment: MPITests.env)
      #expect(r.status == 0, "\(r.stderr)")
      runs.append("three")
    }
    for run in runs {
      let final = try Self.tensors(dir + "/\(run)/final.safetensors")
      let frozen = try Self.same(final, loaded, prefixes: ["conv1", "bn1"])
      #expect(frozen.count == 7 && frozen.values.allSatisfy { $0 }, "\(run): \(frozen)")
      let trained = try Self.same(final, loaded, prefixes: ["fc1", "fc2"])
      #expect(trained.values.allSatisfy { !$0 }, "\(run): fc1 trains, fc2 starts fresh: \(trained)")
    }
    let initRecord = try #require(try RobustRunTests.run(dir + "/one").initWeights)
    #expect(initRecord.sha256 == SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: file)))))
    let resolved = try String(contentsOfFile: dir + "/one/config.resolved.yaml", encoding: .utf8)
    #expect(resolved.contains("init: \(dir)/init.safetensors") && resolved.contains("freeze:"), "\(resolved)")
    // --resume restores from the run's checkpoint: the weights file is gone and not needed.
    try FileManager.default.removeItem(atPath: dir + "/init.safetensors")
    try FileManager.default.removeItem(atPath: dir + "/one/summary.json")
    let resumed = try runProduct(["train", "--resume", dir + "/one", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
  }

  @Test("freeze on 3 ranks: the allreduce carries only the trainable slice, so fewer bytes per step")
  func fewerBytes() throws {
    let mpirun = try #require(mpirunPath)
    let dir = try makeTemporaryDirectory("gradmix-transfer")
    func bytes(_ name: String, _ model: String) throws -> Double {
      let cfg = dir + "/\(name).yaml"
      try Data(Self.config(model).utf8).write(to: URL(fileURLWithPath: cfg))
      let exe = productsDirectory().appendingPathComponent("gradmix").path
      let r = try runProgram(
        mpirun,
        [
          "-np", "3", "--oversubscribe", exe, "train", "--config", cfg, "--data-root", Self.root, "--out",
          dir + "/" + name, "--quiet", "--threads", "1",
        ], environment: MPITests.env)
      try #require(r.status == 0, "\(r.stderr)")
      let ops = try #require(try MPITests.summary(dir + "/" + name).collectives)
      let sent = ops.mapValues { Double($0.bytesSent) }
      print("bytes sent by rank 0 over 6 steps, \(name): \(sent)")
      return sent.values.reduce(0, +)
    }
    let all = try bytes("all", "{spec: \(Self.spec)}")
    let frozen = try bytes("frozen", "{spec: \(Self.spec), freeze: [fc1]}")
    // fc1 holds 24·216 + 24 = 5,208 of the 5,926 parameters (88%): the gradient traffic falls by more than half
    // (measured: allreduce 24,080 -> 3,192 bytes per step on rank 0, broadcast of g_T 24,800 -> 3,968).
    #expect(frozen < all * 0.5, "bytes sent: \(frozen) frozen vs \(all)")
  }

  @Test("layer_lr: multiplier 0 leaves a layer's parameters bit-identical; 2 doubles the layer's first SGD step")
  func layerLearningRates() throws {
    let dir = try makeTemporaryDirectory("gradmix-transfer")
    _ = try Self.pretrained(dir)
    let start = try Self.tensors(dir + "/source/final.safetensors")
    let model = "{spec: \(Self.spec), init: source/final.safetensors}"
    let zero = try Self.train(dir, "zero", model: model, args: ["optimizer.layer_lr={fc1: 0}"])
    try #require(zero.status == 0, "\(zero.stderr)")
    let z = try Self.tensors(dir + "/zero/final.safetensors")
    #expect(try Self.same(z, start, prefixes: ["fc1"]).values.allSatisfy { $0 })
    #expect(try Self.same(z, start, prefixes: ["fc2"]).values.allSatisfy { !$0 })
    let one = try Self.train(dir, "one", model: model, args: ["--steps", "1"])
    let two = try Self.train(dir, "two", model: model, args: ["--steps", "1", "optimizer.layer_lr={fc2: 2}"])
    try #require(one.status == 0 && two.status == 0, "\(one.stderr)\(two.stderr)")
    let a = try Self.tensors(dir + "/one/final.safetensors"), b = try Self.tensors(dir + "/two/final.safetensors")
    let m = try Sequential(spec: Self.spec, inputShape: Shape([3, 28, 28]))
    for e in m.layout.entries {
      for i in e.range {
        let d1 = a.parameters.storage[i] - start.parameters.storage[i]
        let d2 = b.parameters.storage[i] - start.parameters.storage[i]
        if e.name.hasPrefix("fc2.") {
          #expect(
            abs(d2 - 2 * d1) <= 1e-6 * max(abs(start.parameters.storage[i]), 1e-3), "\(e.name)[\(i)]: \(d1) \(d2)")
        } else {
          #expect(d1 == d2, "\(e.name)[\(i)] is not changed by fc2's multiplier")
        }
      }
    }
  }
}
