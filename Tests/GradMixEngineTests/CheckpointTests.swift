import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("Checkpoints")
struct CheckpointTests {
  static let spec = "conv4k3-relu-pool2-fc6-relu-fc3"
  static let shape = Shape([2, 8, 8])

  func tempDir() throws -> String { try makeTemporaryDirectory("gradmix-ckpt") }

  func saved() throws -> (dir: String, path: String, model: Sequential, params: FlatBuffer, velocity: FlatBuffer) {
    let dir = try tempDir()
    let model = try Sequential(spec: Self.spec, inputShape: Self.shape)
    let params = model.makeParameters(seed: 11)
    let velocity = model.makeBuffer()
    for i in 0..<velocity.count { velocity.storage[i] = Float(i % 17) * 1e-3 - 0.005 }
    var rng = RNG(seed: 12)
    _ = rng.next()
    let meta = CheckpointMetadata(
      model: model, step: 42, rng: rng, optimizer: SGD(momentum: 0.9, weightDecay: 5e-4),
      baseLearningRate: 0.01, schedule: .cosine(total: 100, warmup: 5, minFactor: 0),
      extra: ["method": "gradmix"])
    let path = dir + "/step-42.safetensors"
    try Checkpoint.save(to: path, model: model, parameters: params, velocity: velocity, metadata: meta)
    return (dir, path, model, params, velocity)
  }

  func expectError(
    _ path: String, _ model: Sequential, contains text: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    do {
      _ = try Checkpoint.load(from: path, for: model)
      Issue.record("the checkpoint was accepted", sourceLocation: sourceLocation)
    } catch let e as CheckpointError {
      #expect(e.description.contains(text), "\(e.description)", sourceLocation: sourceLocation)
      #expect(
        e.description.contains(path) || e.description.contains(Checkpoint.sidecarPath(for: path)),
        "the error must name the file: \(e.description)", sourceLocation: sourceLocation)
    } catch {
      Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test("round trip is bit-exact, including velocity, step and RNG state")
  func roundTrip() throws {
    let s = try saved()
    let loaded = try Checkpoint.load(from: s.path, for: s.model)
    #expect(loaded.parameters.array.map(\.bitPattern) == s.params.array.map(\.bitPattern))
    #expect(loaded.velocity?.array.map(\.bitPattern) == s.velocity.array.map(\.bitPattern))
    #expect(loaded.metadata.step == 42)
    var expected = RNG(seed: 12)
    _ = expected.next()
    #expect(loaded.metadata.rng == expected)
    var a = try #require(loaded.metadata.rng)
    #expect(a.next() == expected.next())
    #expect(loaded.metadata.schedule == .cosine(total: 100, warmup: 5, minFactor: 0))
    #expect(loaded.metadata.extra["method"] == "gradmix")
    #expect(FileManager.default.fileExists(atPath: s.dir + "/step-42.json"))
    // No temporary files are left behind.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: s.dir).sorted() == ["step-42.json", "step-42.safetensors"])
  }

  @Test("the tensors file is valid safetensors with PyTorch-style names")
  func format() throws {
    let s = try saved()
    let data = try Data(contentsOf: URL(fileURLWithPath: s.path))
    let n = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    #expect(n % 8 == 0)
    let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
    let w = try #require(header["conv1.weight"] as? [String: Any])
    #expect(w["dtype"] as? String == "F32")
    #expect((w["shape"] as? [Int]) == [4, 2, 3, 3])
    #expect(header["optimizer.velocity.fc2.bias"] != nil)
    // The first tensor's bytes are the parameters, little-endian.
    let entry = try #require(s.model.layout.entry(named: "conv1.weight"))
    let offsets = try #require(w["data_offsets"] as? [Int])
    let first = data.withUnsafeBytes {
      Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8 + n + offsets[0], as: UInt32.self)))
    }
    #expect(first == s.params.storage[entry.range.lowerBound])
  }

  @Test("a truncated tensors file is rejected")
  func truncated() throws {
    let s = try saved()
    let data = try Data(contentsOf: URL(fileURLWithPath: s.path))
    for cut in [4, 20, data.count - 100, data.count - 1] {
      try data.prefix(cut).write(to: URL(fileURLWithPath: s.path))
      expectError(s.path, s.model, contains: "truncated")
    }
  }

  @Test("corrupted bytes fail the checksum")
  func corrupted() throws {
    let s = try saved()
    var data = try Data(contentsOf: URL(fileURLWithPath: s.path))
    data[data.count - 10] ^= 0x40
    try data.write(to: URL(fileURLWithPath: s.path))
    expectError(s.path, s.model, contains: "checksum mismatch")
  }

  @Test("a checkpoint for another model spec is rejected")
  func wrongSpec() throws {
    let s = try saved()
    let other = try Sequential(spec: "conv4k3-relu-pool2-fc7-relu-fc3", inputShape: Self.shape)
    expectError(s.path, other, contains: "checkpoint is for model 'conv4k3-relu-pool2-fc6-relu-fc3")
    let otherShape = try Sequential(spec: Self.spec, inputShape: Shape([2, 9, 9]))
    expectError(s.path, otherShape, contains: "is for model")
  }

  @Test("a tensor with the wrong shape is rejected")
  func wrongShape() throws {
    // fc6 on [4] and fc5 on [5] both have 30 parameters named fc1.weight and fc1.bias.
    let dir = try tempDir()
    let a = try Sequential(spec: "fc6", inputShape: Shape([4]))
    let b = try Sequential(spec: "fc5", inputShape: Shape([5]))
    #expect(a.parameterCount == b.parameterCount)
    let path = dir + "/x.safetensors"
    try Checkpoint.save(
      to: path, model: b, parameters: b.makeParameters(seed: 1), metadata: CheckpointMetadata(model: b, step: 0))
    // Make the sidecar claim model a, keeping its (correct) checksum of the tensors file.
    var meta = try Checkpoint.readMetadata(at: path)
    let expected = CheckpointMetadata(model: a, step: 0)
    meta.spec = expected.spec; meta.inputShape = expected.inputShape; meta.layoutHash = expected.layoutHash
    try JSONEncoder().encode(meta).write(to: URL(fileURLWithPath: Checkpoint.sidecarPath(for: path)))
    expectError(path, a, contains: "tensor 'fc1.weight' has shape [5, 5], the model needs [6, 4]")
  }

  @Test("missing files and a bad sidecar are reported")
  func missing() throws {
    let s = try saved()
    expectError(s.dir + "/nope.safetensors", s.model, contains: "not found")
    try Data("{not json".utf8).write(to: URL(fileURLWithPath: s.dir + "/step-42.json"))
    expectError(s.path, s.model, contains: "not valid checkpoint JSON")
  }

  @Test("saving over an existing checkpoint replaces it atomically")
  func overwrite() throws {
    let s = try saved()
    let newParams = s.model.makeParameters(seed: 99)
    try Checkpoint.save(
      to: s.path, model: s.model, parameters: newParams, metadata: CheckpointMetadata(model: s.model, step: 43))
    let loaded = try Checkpoint.load(from: s.path, for: s.model)
    #expect(loaded.parameters.array == newParams.array)
    #expect(loaded.velocity == nil)
    #expect(loaded.metadata.step == 43)
  }

  @Test("BatchNorm running statistics are saved under PyTorch's buffer names and restored bit-exactly")
  func modelState() throws {
    let dir = try tempDir()
    let model = try Sequential(spec: "conv4k3p1-bn-relu-res6s2-gap-fc3", inputShape: Self.shape)
    let params = model.makeParameters(seed: 1), state = model.makeState()
    for i in 0..<state.count { state.storage[i] = Float(i % 13) * 0.25 + 0.5 }
    let path = dir + "/bn.safetensors"
    try Checkpoint.save(
      to: path, model: model, parameters: params, state: state,
      metadata: CheckpointMetadata(model: model, step: 1))
    let loaded = try Checkpoint.load(from: path, for: model)
    #expect(loaded.state.array.map(\.bitPattern) == state.array.map(\.bitPattern))
    #expect(loaded.parameters.array.map(\.bitPattern) == params.array.map(\.bitPattern))
    let file = try Data(contentsOf: URL(fileURLWithPath: path))
    let header = try SafeTensors.decode(file, path: path)
    #expect(header["bn1.running_var"]?.shape == [4])
    #expect(header["res1.downsample.1.num_batches_tracked"]?.shape == [])
    #expect(header.count == model.layout.entries.count + model.stateLayout.entries.count)
    // A model without BatchNorm has an empty state and no state tensors.
    let plain = try saved()
    #expect(try Checkpoint.load(from: plain.path, for: plain.model).state.count == 0)
  }
}
