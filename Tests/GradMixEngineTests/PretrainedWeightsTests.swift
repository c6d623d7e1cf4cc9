import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// `model.init`: loading starting weights strictly, skipping layers, and
/// refusing every kind of wrong file with one error naming the tensor.
@Suite("Pretrained weights (model.init)")
struct PretrainedWeightsTests {
  static let spec = "conv4k3-bn-relu-pool2-fc6-relu-fc3"
  static let shape = Shape([2, 8, 8])

  /// A checkpoint of `spec` with non-initial parameters and running statistics.
  func saved(spec: String = spec, seed: UInt64 = 3) throws -> (path: String, params: FlatBuffer, state: FlatBuffer) {
    let dir = try makeTemporaryDirectory("gradmix-init")
    let model = try Sequential(spec: spec, inputShape: Self.shape)
    let params = model.makeParameters(seed: seed), state = model.makeState()
    for i in 0..<state.count { state.storage[i] = Float(i) * 0.25 + 0.5 }
    let velocity = model.makeBuffer()
    velocity.fill(7)
    let path = dir + "/w.safetensors"
    try Checkpoint.save(
      to: path, model: model, parameters: params, state: state, velocity: velocity,
      metadata: CheckpointMetadata(model: model, step: 1))
    return (path, params, state)
  }

  /// A safetensors file written by hand: `(name, dtype, shape, bytes)`.
  func handWritten(_ tensors: [(String, String, [Int], Int)]) throws -> String {
    var header: [String: Any] = [:]
    var offset = 0
    for (name, dtype, shape, bytes) in tensors {
      header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
      offset += bytes
    }
    let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    file.append(Data(count: offset))
    let path = try makeTemporaryDirectory("gradmix-init") + "/hand.safetensors"
    try file.write(to: URL(fileURLWithPath: path))
    return path
  }

  func fresh() throws -> (Sequential, FlatBuffer, FlatBuffer) {
    let model = try Sequential(spec: Self.spec, inputShape: Self.shape)
    return (model, model.makeParameters(seed: 99), model.makeState())
  }

  @Test(
    "a checkpoint loads whole: parameters and running statistics bit for bit, velocity ignored, SHA-256 of the file")
  func roundTrip() throws {
    let s = try saved()
    let (model, params, state) = try fresh()
    let report = try PretrainedWeights.load(from: s.path, model: model, parameters: params, state: state)
    #expect(Array(params.storage) == Array(s.params.storage))
    #expect(Array(state.storage) == Array(s.state.storage))
    #expect(report.tensorsLoaded == model.layout.entries.count + model.stateLayout.entries.count)
    #expect(report.sha256 == SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: s.path)))))
  }

  @Test("init_skip leaves a layer at its random init, even when the file's tensor has another shape (a new head)")
  func skipHead() throws {
    let s = try saved(spec: "conv4k3-bn-relu-pool2-fc6-relu-fc5")  // 5 classes in the file, 3 in the model
    let (model, params, state) = try fresh()
    let random = params.clone()
    let fc2 = model.layout.layerNames.firstIndex(of: "fc2")!
    #expect(throws: CheckpointError.self) {
      _ = try PretrainedWeights.load(from: s.path, model: model, parameters: params, state: state)
    }
    #expect(Array(params.storage) == Array(random.storage), "a failed load writes nothing")
    let report = try PretrainedWeights.load(
      from: s.path, model: model, parameters: params, state: state, skip: [fc2])
    #expect(report.skippedLayers == ["fc2"])
    for e in model.layout.entries {
      let got = Array(params.slice(e.range))
      if e.layer == fc2 {
        #expect(got == Array(random.slice(e.range)), "\(e.name) keeps its init")
      } else {
        let other = try #require(
          try Sequential(spec: "conv4k3-bn-relu-pool2-fc6-relu-fc5", inputShape: Self.shape).layout.entry(named: e.name)
        )
        #expect(got == Array(s.params.slice(other.range)), "\(e.name) loaded")
      }
    }
    #expect(Array(state.storage) == Array(s.state.storage), "bn1 (in conv1) running statistics loaded")
  }

  @Test("wrong files: each a CheckpointError naming the tensor (and both shapes), nothing written")
  func wrongFiles() throws {
    let (model, params, state) = try fresh()
    let before = params.clone()
    func message(_ path: String) -> String {
      do {
        _ = try PretrainedWeights.load(from: path, model: model, parameters: params, state: state)
        return "no error"
      } catch { return "\(error)" }
    }
    // Every tensor of the model, as written by hand (zeros), with one change.
    var all: [(String, String, [Int], Int)] =
      (model.layout.entries + model.stateLayout.entries).map { ($0.name, "F32", $0.shape, $0.range.count * 4) }
    let missing = message(try handWritten(all.filter { $0.0 != "fc1.weight" }))
    #expect(missing.contains("'fc1.weight'") && missing.contains("[6, 36]"), "\(missing)")
    let extra = message(try handWritten(all + [("fc3.weight", "F32", [2, 3], 24)]))
    #expect(extra.contains("'fc3.weight'") && extra.contains("[2, 3]"), "\(extra)")
    let i = all.firstIndex { $0.0 == "conv1.weight" }!
    all[i] = ("conv1.weight", "F32", [4, 2, 5, 5], 4 * 2 * 25 * 4)
    let shaped = message(try handWritten(all))
    #expect(
      shaped.contains("'conv1.weight'") && shaped.contains("[4, 2, 5, 5]") && shaped.contains("[4, 2, 3, 3]"),
      "\(shaped)")
    all[i] = ("conv1.weight", "F16", [4, 2, 3, 3], 4 * 2 * 9 * 2)
    let dtype = message(try handWritten(all))
    #expect(dtype.contains("'conv1.weight'") && dtype.contains("F16"), "\(dtype)")
    all[i] = ("conv1.weight", "F32", [1 << 40, 1 << 40, 1 << 40], 8)
    let huge = message(try handWritten(all))
    #expect(huge.contains("'conv1.weight'"), "a hostile shape is refused, not multiplied out: \(huge)")
    let good = try saved().path
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    let truncated = good + ".cut.safetensors"
    try bytes.prefix(bytes.count - 12).write(to: URL(fileURLWithPath: truncated))
    #expect(message(truncated).contains("truncated"), "\(message(truncated))")
    let zip = good + ".pt"
    try Data([0x50, 0x4B, 3, 4] + [UInt8](repeating: 0, count: 60)).write(to: URL(fileURLWithPath: zip))
    #expect(message(zip).contains("not a safetensors file"), "\(message(zip))")
    #expect(message(good + ".nothing").contains("not found"))
    #expect(Array(params.storage) == Array(before.storage), "no failed load writes into the parameters")
  }
}
