import GradMixEngine
import GradMixTestSupport
import Testing

/// `Sequential.freeze`: frozen layers get no parameter gradient, the layers
/// above them get exactly the gradient of the whole backward pass, dL/dx
/// still flows through a frozen layer to a trainable one below, and a
/// frozen BatchNorm runs on its running statistics without moving them.
@Suite("Frozen layers (model.freeze)")
struct FreezeTests {
  static let shape = Shape([2, 8, 8])

  /// The gradient of one batch (added into `into`, else into a new zero buffer) and the layers `layerDone` reported.
  func gradient(
    _ model: Sequential, _ params: FlatBuffer, state: FlatBuffer? = nil, into: FlatBuffer? = nil
  ) -> (FlatBuffer, [Int]) {
    let n = 4, ws = model.makeWorkspace(maxBatch: n)
    var rng = RNG(seed: 21)
    for i in 0..<(n * model.inputShape.count) { ws.input[i] = rng.normal() }
    let logits = model.forward(ws, batch: n, parameters: params, state: state, mode: .train, rng: &rng)
    for i in 0..<logits.count { ws.dOutput.storage[i] = logits[i] * 0.5 - 0.1 }
    let g = into ?? model.makeBuffer()
    var done: [Int] = []
    model.backward(ws, batch: n, parameters: params, gradients: g) { done.append($0) }
    return (g, done)
  }

  @Test("a frozen prefix: no gradient there, the same bits above, layerDone for trainable layers only")
  func frozenPrefix() throws {
    let spec = "conv4k3-relu-pool2-fc6-relu-fc3"
    let whole = try Sequential(spec: spec, inputShape: Self.shape)
    let params = whole.makeParameters(seed: 4)
    var frozen = whole
    frozen.freeze([0])
    let (all, _) = gradient(whole, params)
    let (part, done) = gradient(frozen, params)
    #expect(done == [2, 1])
    #expect(frozen.trainableLayers == [1, 2])
    let conv = whole.layout.layerRanges[0]
    #expect(part.slice(conv).allSatisfy { $0 == 0 })
    #expect(Array(all.slice(conv)).contains { $0 != 0 })
    let rest = conv.upperBound..<whole.layout.count
    #expect(Array(part.slice(rest)) == Array(all.slice(rest)))
  }

  @Test("a frozen middle layer passes dL/dx down: the layer below gets the whole pass's gradient")
  func frozenMiddle() throws {
    let spec = "conv4k3-relu-pool2-fc6-relu-fc3"
    let whole = try Sequential(spec: spec, inputShape: Self.shape)
    let params = whole.makeParameters(seed: 5)
    var frozen = whole
    frozen.freeze([1])
    let (all, _) = gradient(whole, params)
    let (part, done) = gradient(frozen, params)
    #expect(done == [2, 0])
    #expect(part.slice(whole.layout.layerRanges[1]).allSatisfy { $0 == 0 })
    for l in [0, 2] {
      #expect(Array(part.slice(whole.layout.layerRanges[l])) == Array(all.slice(whole.layout.layerRanges[l])))
    }
  }

  @Test("frozen layers above a trainable one (a residual block, a conv): their gradient slices are never written")
  func frozenNotComputed() throws {
    let spec = "conv4k3p1-bn-relu-res4-conv4k3-relu-gap-fc3"
    var model = try Sequential(spec: spec, inputShape: Self.shape)
    let params = model.makeParameters(seed: 8)
    model.freeze([1, 2])  // res1 and conv2, between the trainable conv1 (+bn1) and fc1
    // A sentinel in every frozen slot: backward only adds into gradients, so a written slot would move.
    let g = model.makeBuffer()
    for i in 0..<g.count { g.storage[i] = 7 }
    for l in model.trainableLayers { g.slice(model.layout.layerRanges[l]).update(repeating: 0) }
    _ = gradient(model, params, state: model.makeState(), into: g)
    for l in [1, 2] { #expect(g.slice(model.layout.layerRanges[l]).allSatisfy { $0 == 7 }, "layer \(l)") }
    for l in [0, 3] { #expect(Array(g.slice(model.layout.layerRanges[l])).contains { $0 != 0 }, "layer \(l)") }
  }

  @Test("a frozen BatchNorm normalises by its running statistics in train mode and leaves them alone")
  func frozenBatchNorm() throws {
    let spec = "conv4k3-bn-relu-pool2-fc6-bn-relu-fc3"
    var model = try Sequential(spec: spec, inputShape: Self.shape)
    let params = model.makeParameters(seed: 6)
    model.freeze([0])  // conv1 with bn1
    let state = model.makeState()
    for i in 0..<state.count { state.storage[i] = 0.5 + Float(i % 5) * 0.1 }
    let before = state.clone()
    _ = gradient(model, params, state: state)
    for e in model.stateLayout.entries {
      let same = Array(state.slice(e.range)) == Array(before.slice(e.range))
      #expect(same == e.name.hasPrefix("bn1."), "\(e.name): frozen bn1 keeps its statistics, bn2 moves")
    }
  }

  @Test(
    "SGD over ranges: multiplier 1 gives the whole step's bits, 2 doubles the first step, 0 and outside leave parameters alone"
  )
  func sgdRanges() throws {
    let p = FlatBuffer((0..<12).map { Float($0) * 0.1 - 0.3 }),
      g = FlatBuffer((0..<12).map { Float($0 % 5) * 0.07 - 0.1 })
    let sgd = SGD(momentum: 0.9, weightDecay: 1e-3)
    let whole = p.clone(), vWhole = FlatBuffer(count: 12)
    sgd.step(parameters: whole, gradients: g, velocity: vWhole, learningRate: 0.05)
    let part = p.clone(), v = FlatBuffer(count: 12)
    sgd.step(
      parameters: part, gradients: g, velocity: v, learningRate: 0.05,
      ranges: [(range: 0..<4, multiplier: 1), (range: 4..<8, multiplier: 2), (range: 8..<10, multiplier: 0)])
    #expect(Array(part.slice(0..<4)) == Array(whole.slice(0..<4)))
    for i in 4..<8 {
      #expect(part.storage[i] == p.storage[i] - 0.1 * vWhole.storage[i], "the first step is v = g + λθ, doubled")
    }
    #expect(Array(part.slice(8..<12)) == Array(p.slice(8..<12)))
  }
}
