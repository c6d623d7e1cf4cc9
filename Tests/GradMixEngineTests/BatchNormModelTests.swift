import GradMixEngine
import GradMixTestSupport
import Testing

/// Models with BatchNorm, pooling and residual blocks: names, shapes, the
/// model-state buffer and the training/evaluation switch.
@Suite("BatchNorm and residual models")
struct BatchNormModelTests {
  static let resnetSpec = "conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10"

  @Test("the ResNet spec has PyTorch-style names, one layer per conv+bn and per block, and a state layout")
  func resnetLayout() throws {
    let m = try Sequential(spec: Self.resnetSpec, inputShape: Shape([3, 32, 32]))
    #expect(
      m.shapes.map(\.dims) == [
        [3, 32, 32], [16, 32, 32], [16, 32, 32], [32, 32, 32], [64, 16, 16],
        [64, 16, 16], [64], [10],
      ])
    #expect(m.layers.map(\.token) == ["conv16k3p1", "bn+relu", "res32", "res64s2", "res64", "gap", "fc10"])
    #expect(m.layout.layerNames == ["conv1", "res1", "res2", "res3", "fc1"])
    let names = m.layout.entries.map(\.name)
    #expect(Array(names.prefix(4)) == ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias"])
    #expect(names.contains("res1.downsample.0.weight") && names.contains("res2.downsample.1.bias"))
    #expect(!names.contains("res3.downsample.0.weight"))  // identity shortcut
    #expect(m.layout.entry(named: "res2.conv1.weight")?.shape == [64, 32, 3, 3])
    #expect(m.layout.entry(named: "res1.downsample.0.weight")?.shape == [32, 16, 1, 1])
    #expect(m.layout.entry(named: "res1.conv1.bias") == nil)  // no bias before a BatchNorm
    let stateNames = m.stateLayout.entries.map(\.name)
    #expect(Array(stateNames.prefix(3)) == ["bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"])
    #expect(stateNames.contains("res2.downsample.1.running_var"))
    #expect(m.stateLayout.entry(named: "bn1.num_batches_tracked")?.shape == [])
    // bn1 + three blocks (2, 3 and 2 BatchNorms): 8 BatchNorms of 2C+1 floats.
    #expect(m.stateLayout.count == (2 * 16 + 1) + 3 * (2 * 32 + 1) + 3 * (2 * 64 + 1) + 2 * (2 * 64 + 1))
    var next = 0
    for r in m.layout.layerRanges { #expect(r.lowerBound == next); next = r.upperBound }
    #expect(next == m.parameterCount)
    let p = m.makeParameters(seed: 3)
    let bn1 = try #require(m.layout.entry(named: "bn1.weight"))
    #expect(p.slice(bn1.range).allSatisfy { $0 == 1 })
    let s = m.makeState()
    let rv = try #require(m.stateLayout.entry(named: "res3.bn2.running_var"))
    #expect(s.slice(rv.range).allSatisfy { $0 == 1 })
  }

  @Test("a bn after a pooling layer is a layer of its own; feature-vector models take model.input [D]")
  func otherPlacements() throws {
    let m = try Sequential(spec: "conv4k3-relu-avgpool2-bn-gap-fc3", inputShape: Shape([1, 8, 8]))
    #expect(m.layout.layerNames == ["conv1", "bn1", "fc1"])
    #expect(m.shapes.map(\.dims) == [[1, 8, 8], [4, 6, 6], [4, 3, 3], [4, 3, 3], [4], [3]])
    let v = try Sequential(spec: "fc16-bn-relu-fc3", inputShape: Shape([8]))
    #expect(
      v.layout.entries.map(\.name) == ["fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "fc2.weight", "fc2.bias"])
    #expect(v.layout.layerNames == ["fc1", "fc2"])
    #expect(v.stateLayout.entries.map(\.name) == ["bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"])
  }

  @Test(
    "bad uses of the new tokens are rejected with the token named",
    arguments: [
      ("res16-fc2", [8], "res16"), ("fc8-gap-fc2", [3, 4, 4], "gap"), ("avgpool9-fc2", [1, 8, 8], "larger"),
      ("res0-fc2", [1, 8, 8], "res0"), ("conv4k3-fc2", [12], "conv4k3"), ("bnx-fc2", [4], "bnx"),
      ("avgpool2s0-fc2", [1, 8, 8], "avgpool2s0"),
    ])
  func badSpecs(_ c: (String, [Int], String)) {
    do {
      _ = try Sequential(spec: c.0, inputShape: Shape(c.1))
      Issue.record("spec '\(c.0)' on \(c.1) was accepted")
    } catch let e as ModelSpecError {
      #expect(e.description.contains(c.2), "\(e.description)")
    } catch { Issue.record("unexpected error \(error)") }
  }

  /// Per-channel mean and (biased, unbiased) variance of an NCHW batch, in Double.
  func channelStats(_ x: [Float], n: Int, c: Int, p: Int) -> [(mean: Double, biased: Double, unbiased: Double)] {
    (0..<c).map { ch in
      var v: [Double] = []
      for i in 0..<n { for j in 0..<p { v.append(Double(x[(i * c + ch) * p + j])) } }
      let mean = v.reduce(0, +) / Double(v.count)
      let ss = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
      return (mean, ss / Double(v.count), ss / Double(v.count - 1))
    }
  }

  @Test("train mode updates the running statistics exactly as PyTorch; eval mode uses them and leaves them")
  func trainEvalSwitch() throws {
    // bn directly on the input, so the statistics are those of the batches.
    let n = 4, c = 3, h = 3, w = 2, p = h * w
    let m = try Sequential(spec: "bn-relu-gap-fc2", inputShape: Shape([c, h, w]))
    let params = m.makeParameters(seed: 5)
    let state = m.makeState()
    let ws = m.makeWorkspace(maxBatch: n)
    var rng = RNG(seed: 6)
    let x1 = (0..<(n * c * p)).map { _ in rng.normal() * 2 + 1 }
    let x2 = (0..<(n * c * p)).map { _ in rng.normal() * 0.5 - 3 }
    func forward(_ x: [Float], _ mode: Mode, batch: Int = 4) -> [Float] {
      for i in 0..<(batch * c * p) { ws.input[i] = x[i] }
      return Array(m.forward(ws, batch: batch, parameters: params, state: state, mode: mode, rng: &rng))
    }
    _ = forward(x1, .train)
    _ = forward(x2, .train)
    let s1 = channelStats(x1, n: n, c: c, p: p), s2 = channelStats(x2, n: n, c: c, p: p)
    let mean = try #require(m.stateLayout.entry(named: "bn1.running_mean"))
    let variance = try #require(m.stateLayout.entry(named: "bn1.running_var"))
    let count = try #require(m.stateLayout.entry(named: "bn1.num_batches_tracked"))
    let expectedMean = (0..<c).map { 0.9 * (0.1 * s1[$0].mean) + 0.1 * s2[$0].mean }
    let expectedVar = (0..<c).map { 0.9 * (0.9 + 0.1 * s1[$0].unbiased) + 0.1 * s2[$0].unbiased }
    expectClose(Array(state.slice(mean.range)), expectedMean, absolute: 1e-6, relative: 1e-5, "running_mean")
    expectClose(Array(state.slice(variance.range)), expectedVar, absolute: 1e-6, relative: 1e-5, "running_var")
    #expect(state.slice(count.range)[0] == 2)

    // Eval leaves the state alone and treats every sample on its own.
    let before = Array(state.storage)
    let evalBatch = forward(x2, .eval)
    #expect(Array(state.storage) == before)
    let evalOne = forward(Array(x2[(c * p)...]), .eval, batch: 1)
    expectClose(evalOne, Array(evalBatch[2..<4]), absolute: 1e-6, relative: 1e-6, "eval of sample 1 alone")

    // With the running statistics set to the batch's (biased) statistics,
    // eval reproduces train mode; with the initial ones it does not.
    let trainOut = forward(x1, .train)
    for ch in 0..<c {
      state.slice(mean.range)[ch] = Float(s1[ch].mean)
      state.slice(variance.range)[ch] = Float(s1[ch].biased)
    }
    expectClose(forward(x1, .eval), trainOut, absolute: 1e-5, relative: 1e-5, "eval with the batch statistics")
    m.resetState(state)
    let evalFresh = forward(x1, .eval)
    #expect(zip(evalFresh, trainOut).contains { abs($0 - $1) > 1e-2 })
    #expect(state.slice(count.range)[0] == 0)
  }

  @Test("fused bn+relu equals separate layers; layerDone reports each layer once, last first")
  func fusedAndLayerDone() throws {
    let spec = "conv4k3p1-bn-relu-res6s2-avgpool2-fc8-bn-relu-fc3"
    let shape = Shape([2, 8, 8])
    let fused = try Sequential(spec: spec, inputShape: shape)
    let separate = try Sequential(spec: spec, inputShape: shape, fuseReLU: false)
    #expect(fused.layout == separate.layout)
    let params = fused.makeParameters(seed: 9)
    var results: [[Float]] = []
    var done: [Int] = []
    for m in [fused, separate] {
      let ws = m.makeWorkspace(maxBatch: 3), state = m.makeState(), grads = m.makeBuffer()
      var rng = RNG(seed: 10)
      for i in 0..<(3 * shape.count) { ws.input[i] = rng.normal() }
      let logits = m.forward(ws, batch: 3, parameters: params, state: state, mode: .train, rng: &rng)
      for i in 0..<(3 * 3) { ws.dOutput.storage[i] = Float(i % 3) - 1 }
      done = []
      m.backward(ws, batch: 3, parameters: params, gradients: grads) { done.append($0) }
      results.append(Array(logits) + Array(grads.storage) + Array(state.storage))
    }
    expectClose(results[0], results[1], absolute: 1e-5, relative: 1e-4, "fused vs separate")
    #expect(fused.layout.layerNames == ["conv1", "res1", "fc1", "fc2"])
    #expect(done == [3, 2, 1, 0])
  }
}
