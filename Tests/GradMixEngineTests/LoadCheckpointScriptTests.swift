import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// A Python with NumPy (and whether it has torch), found once: `$GRADMIX_PYTHON`,
/// the repository's `.venv` (scripts/setup-python.sh), then `python3`.
enum ReferencePython {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static func works(_ python: String, _ module: String) -> Bool {
    (try? runProgram(python, ["-c", "import \(module)"]).status) == 0
  }

  static let path: String? = {
    var candidates: [String] = []
    if let p = ProcessInfo.processInfo.environment["GRADMIX_PYTHON"] { candidates.append(p) }
    candidates += [
      repository.appendingPathComponent(".venv/bin/python").path, "/usr/bin/python3", "/usr/local/bin/python3",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) && works($0, "numpy") }
  }()

  static let hasNumPy = path != nil
  static let hasTorch = path.map { works($0, "torch") } ?? false
}

/// `scripts/reference/load_checkpoint.py` rebuilds the network from the spec
/// stored in a checkpoint and computes evaluation-mode logits that match the
/// engine's (what `gradmix eval` computes) within 1e-4: with its NumPy
/// reference forward pass (needs only NumPy, so it runs in CI) and, where
/// PyTorch is installed, with the torch module loaded by `load_state_dict`
/// (strict).
@Suite(
  "load_checkpoint.py against the engine",
  .enabled(
    if: ReferencePython.hasNumPy,
    "needs a python with numpy (scripts/setup-python.sh)"))
struct LoadCheckpointScriptTests {
  static let specs: [(String, [Int])] = [
    ("conv4k3p1-bn-relu-res6s2-res6-avgpool2-bn-gap-fc5-bn-relu-fc3", [2, 8, 8]),
    ("conv6k5-relu-pool2-dropout0.5-conv8k3s2p1-relu-fc8-relu-fc4", [3, 12, 12]),
    ("fc16-bn-relu-dropout0.2-fc3", [8]),
  ]

  /// Saves a checkpoint of `spec` whose parameters and running statistics are
  /// not at their initial values, and a batch; returns the engine's eval logits.
  func prepare(_ spec: String, _ shape: [Int], dir: String) throws -> (
    checkpoint: String, input: String, logits: [Float]
  ) {
    let model = try Sequential(spec: spec, inputShape: Shape(shape))
    let params = model.makeParameters(seed: 7), state = model.makeState()
    var rng = RNG(seed: 8)
    for i in 0..<params.count { params.storage[i] += rng.normal() * 0.05 }
    let n = 5, ws = model.makeWorkspace(maxBatch: n)
    for _ in 0..<3 {  // training-mode passes move the running statistics
      for i in 0..<(n * model.inputShape.count) { ws.input[i] = rng.normal() * 1.5 + 0.3 }
      model.forward(ws, batch: n, parameters: params, state: state, mode: .train, rng: &rng)
    }
    var x = [Float](repeating: 0, count: n * model.inputShape.count)
    for i in x.indices { x[i] = rng.normal() }
    for i in x.indices { ws.input[i] = x[i] }
    let logits = Array(model.forward(ws, batch: n, parameters: params, state: state, mode: .eval, rng: &rng))
    let checkpoint = dir + "/model.safetensors", input = dir + "/x.f32"
    try Checkpoint.save(
      to: checkpoint, model: model, parameters: params, state: state,
      metadata: CheckpointMetadata(model: model, step: 3))
    try x.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: input))
    return (checkpoint, input, logits)
  }

  func scriptLogits(_ checkpoint: String, _ input: String, backend: String, dir: String) throws -> [Float] {
    let python = try #require(ReferencePython.path)
    let out = dir + "/logits-\(backend).f32"
    let script = ReferencePython.repository.appendingPathComponent("scripts/reference/load_checkpoint.py").path
    let r = try runProgram(
      python, [script, checkpoint, "--input", input, "--out", out, "--backend", backend, "--quiet"])
    try #require(r.status == 0, "load_checkpoint.py failed: \(r.stderr)")
    let data = try Data(contentsOf: URL(fileURLWithPath: out))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  @Test("NumPy reference logits match the engine's eval logits", arguments: 0..<3)
  func numpyBackend(_ i: Int) throws {
    let dir = try makeTemporaryDirectory("gradmix-loadckpt")
    let (spec, shape) = Self.specs[i]
    let p = try prepare(spec, shape, dir: dir)
    expectClose(
      try scriptLogits(p.checkpoint, p.input, backend: "numpy", dir: dir), p.logits,
      absolute: 1e-4, relative: 0, "\(spec) numpy")
  }

  @Test(
    "PyTorch logits match the engine's eval logits", .enabled(if: ReferencePython.hasTorch, "needs torch"),
    arguments: 0..<3)
  func torchBackend(_ i: Int) throws {
    let dir = try makeTemporaryDirectory("gradmix-loadckpt")
    let (spec, shape) = Self.specs[i]
    let p = try prepare(spec, shape, dir: dir)
    expectClose(
      try scriptLogits(p.checkpoint, p.input, backend: "torch", dir: dir), p.logits,
      absolute: 1e-4, relative: 0, "\(spec) torch")
  }
}
