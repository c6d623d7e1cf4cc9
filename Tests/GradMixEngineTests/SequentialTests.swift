import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("Sequential models")
struct SequentialTests {
  static let digitSpec = "conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10"

  @Test("the digit CNN has the expected shapes and one parameter group per layer")
  func digitCNN() throws {
    let m = try Sequential(spec: Self.digitSpec, inputShape: Shape([3, 28, 28]))
    #expect(
      m.shapes.map(\.dims) == [
        [3, 28, 28], [32, 12, 12], [64, 4, 4], [1024], [512], [10],
      ])  // conv-relu-pool is one layer (ConvPool)
    #expect(m.layout.layerNames == ["conv1", "conv2", "fc1", "fc2"])
    #expect(
      m.layout.entries.map(\.name) == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
      ])
    #expect(m.layout.entry(named: "conv2.weight")?.shape == [64, 32, 5, 5])
    #expect(m.parameterCount == (32 * 75 + 32) + (64 * 800 + 64) + (1024 * 512 + 512) + (512 * 10 + 10))
    // Layer ranges tile the buffer.
    var next = 0
    for r in m.layout.layerRanges { #expect(r.lowerBound == next); next = r.upperBound }
    #expect(next == m.parameterCount)
  }

  @Test(
    "bad specs are rejected with the token named",
    arguments: [
      ("", "empty"), ("conv32-fc10", "conv32"), ("conv32k5-relu-poo2-fc10", "poo2"), ("fc0", "fc0"),
      ("conv8k30-fc10", "does not fit"), ("pool2-pool2-pool2-pool2-pool2-fc10", "larger than the input"),
      ("relu-pool2", "must end"), ("dropout1.5-fc10", "dropout"),
    ])
  func badSpecs(_ c: (String, String)) {
    do {
      _ = try Sequential(spec: c.0, inputShape: Shape([3, 28, 28]))
      Issue.record("spec '\(c.0)' was accepted")
    } catch let e as ModelSpecError {
      #expect(e.description.contains(c.1), "\(e.description)")
    } catch { Issue.record("unexpected error \(error)") }
  }

  @Test("stride and padding tokens")
  func strideAndPadding() throws {
    let m = try Sequential(spec: "conv8k3s2p1-pool3s2-fc4", inputShape: Shape([1, 9, 9]))
    #expect(m.shapes.map(\.dims) == [[1, 9, 9], [8, 5, 5], [8, 2, 2], [32], [4]])
  }

  /// The fast convolution against the naive double-precision loops:
  /// (stride, padding, width, chunk floats). Padding 1 at stride 1 takes
  /// im2col's same-size-plane path, width 21 at stride 2 its SIMD gather, and
  /// a 1-float chunk the one-image path (GEMM straight into the output, dY
  /// used in place).
  @Test(
    "Conv2D agrees with the naive reference on a batch",
    arguments: [
      (1, 0, 10, 0), (2, 1, 10, 0), (1, 2, 10, 0), (1, 1, 10, 0), (1, 1, 10, 1), (2, 1, 21, 0), (2, 1, 21, 1),
    ])
  func convAgainstNaive(_ spwc: (Int, Int, Int, Int)) throws {
    let (s, p, w, chunk) = spwc
    var rng = RNG(seed: 41)
    let n = 3, c = 3, h = 11, oc = 5, k = 3
    let layer = try Conv2D(
      input: Shape([c, h, w]), outChannels: oc, kernelSize: k, stride: s, padding: p,
      chunkFloats: chunk > 0 ? chunk : nil)
    let x = (0..<(n * c * h * w)).map { _ in rng.normal() }
    let wt = (0..<(oc * c * k * k)).map { _ in rng.normal() }
    let b = (0..<oc).map { _ in rng.normal() }
    let ref = Reference.conv2d(
      x: x.map(Double.init), n: n, c: c, h: h, w: w, weight: wt.map(Double.init),
      bias: b.map(Double.init), outChannels: oc, kernel: k, stride: s, padding: p)
    let dy = (0..<ref.y.count).map { _ in rng.normal() }
    let refB = Reference.conv2dBackward(
      dy: dy.map(Double.init), x: x.map(Double.init), n: n, c: c, h: h, w: w,
      weight: wt.map(Double.init), outChannels: oc, kernel: k, stride: s, padding: p)
    var y = [Float](repeating: 0, count: ref.y.count)
    var scratch = [Float](repeating: 0, count: layer.scratchCount(input: Shape([c, h, w]), batch: n))
    var dx = [Float](repeating: 0, count: x.count)
    var dp = [Float](repeating: 0, count: wt.count + oc)
    var r = RNG(seed: 0)
    layer.forward(
      output: &y, input: x, parameters: wt + b, scratch: &scratch, inputShape: Shape([c, h, w]),
      batch: n, mode: .train, rng: &r)
    layer.backward(
      dInput: &dx, dParameters: &dp, dOutput: dy, input: x, output: y, parameters: wt + b,
      scratch: &scratch, inputShape: Shape([c, h, w]), batch: n)
    expectClose(y, ref.y, absolute: 1e-4, relative: 1e-4, "output")
    expectClose(dx, refB.dx, absolute: 1e-4, relative: 1e-4, "dx")
    expectClose(dp, refB.dw + refB.db, absolute: 1e-4, relative: 1e-4, "dw, db")
  }

  /// Whole-model gradient: loss with a class mask and sample weights,
  /// central differences on every parameter of a small CNN with stride,
  /// padding, pooling and dropout. Also checks that fused and separate ReLU
  /// give identical results. Tolerance 2e-2: the stacked kinks (ReLU,
  /// pooling) force steps of 3e-3 and below, where Float round-off of the
  /// loss reaches about 1% on the smallest entries; a wrong gradient is O(1) off.
  @Test("end-to-end parameter gradient of a small CNN")
  func endToEnd() throws {
    let spec = "conv4k3s2p1-relu-pool2-conv3k2p1-relu-fc6-relu-dropout0.25-fc5"
    let shape = Shape([2, 9, 9])
    let fused = try Sequential(spec: spec, inputShape: shape)
    let separate = try Sequential(spec: spec, inputShape: shape, fuseReLU: false)
    #expect(fused.layout == separate.layout)
    #expect(fused.layers.count < separate.layers.count)
    let batch = 4
    let params = fused.makeParameters(seed: 7)
    var rng = RNG(seed: 8)
    let x = (0..<(batch * shape.count)).map { _ in rng.normal() }
    let labels: [Int32] = [0, 2, 3, 2]
    let weights: [Float] = [1, 0.5, 2, 1]
    let mask = ClassMask(classCount: 5, allowing: [0, 2, 3])

    func lossAndGradient(_ model: Sequential, _ p: FlatBuffer, gradient: FlatBuffer?) -> Double {
      let ws = model.makeWorkspace(maxBatch: batch)
      for i in 0..<x.count { ws.input[i] = x[i] }
      var dropoutRNG = RNG(seed: 99)
      let logits = model.forward(ws, batch: batch, parameters: p, mode: .train, rng: &dropoutRNG)
      let l = labels.withUnsafeBufferPointer { lb in
        weights.withUnsafeBufferPointer { wb in
          SoftmaxCrossEntropy.loss(
            dLogits: ws.dOutput.pointer, logits: logits.baseAddress!, labels: lb.baseAddress!,
            weights: wb.baseAddress, mask: mask, batch: batch, classes: 5)
        }
      }
      if let gradient { model.backward(ws, batch: batch, parameters: p, gradients: gradient) }
      return Double(l)
    }
    let gFused = fused.makeBuffer(), gSeparate = separate.makeBuffer()
    let l1 = lossAndGradient(fused, params, gradient: gFused)
    let l2 = lossAndGradient(separate, params, gradient: gSeparate)
    #expect(l1 == l2)
    #expect(gFused.array == gSeparate.array)

    let cmp = compare(
      "model dL/dθ", Array(0..<params.count), analytic: gFused.array.map(Double.init),
      epsilon: 3e-3
    ) { j, eps in
      let p = params.clone()
      p.storage[j] += eps
      let lp = lossAndGradient(fused, p, gradient: nil)
      p.storage[j] -= 2 * eps
      let lm = lossAndGradient(fused, p, gradient: nil)
      return (lp - lm) / (2 * Double(eps))
    }
    #expect(cmp.maxRelativeError < 2e-2, "\(cmp)")
  }

  @Test("initialisation is seeded and He-scaled")
  func initialisation() throws {
    let m = try Sequential(spec: Self.digitSpec, inputShape: Shape([3, 28, 28]))
    let a = m.makeParameters(seed: 1), b = m.makeParameters(seed: 1), c = m.makeParameters(seed: 2)
    #expect(a.array == b.array)
    #expect(a.array != c.array)
    let w = try #require(m.layout.entry(named: "conv2.weight"))
    let values = Array(a.slice(w.range))
    let variance = values.reduce(0.0) { $0 + Double($1 * $1) } / Double(values.count)
    #expect(abs(variance - 2.0 / 800) < 0.1 * 2.0 / 800, "conv2 weight variance \(variance)")
    let bias = try #require(m.layout.entry(named: "fc1.bias"))
    #expect(a.slice(bias.range).allSatisfy { $0 == 0 })
  }

  @Test("eval mode turns dropout off; train mode is reproducible from the RNG")
  func dropoutModes() throws {
    let m = try Sequential(spec: "fc16-dropout0.5-fc3", inputShape: Shape([8]))
    let p = m.makeParameters(seed: 3)
    let ws = m.makeWorkspace(maxBatch: 2)
    for i in 0..<16 { ws.input[i] = Float(i) / 16 }
    var r1 = RNG(seed: 5), r2 = RNG(seed: 5), r3 = RNG(seed: 6)
    let e1 = Array(m.forward(ws, batch: 2, parameters: p, mode: .eval, rng: &r1))
    let e2 = Array(m.forward(ws, batch: 2, parameters: p, mode: .eval, rng: &r3))
    #expect(e1 == e2)
    let t1 = Array(m.forward(ws, batch: 2, parameters: p, mode: .train, rng: &r2))
    var r4 = RNG(seed: 5)
    _ = m.forward(ws, batch: 2, parameters: p, mode: .eval, rng: &r4)
    let t2 = Array(m.forward(ws, batch: 2, parameters: p, mode: .train, rng: &r4))
    #expect(t1 == t2)
    #expect(t1 != e1)
  }

  /// Splitting the batch (convolutions) and the rows (dense layers) between
  /// threads must not change the result beyond float summation order.
  @Test("two engine threads give the one-thread logits and gradients", arguments: [2, 3])
  func threads(_ threads: Int) throws {
    let spec = "conv8k3p1-relu-pool2-conv6k3s2-relu-fc12-relu-fc5"
    let one = try Sequential(spec: spec, inputShape: Shape([3, 12, 12]), threads: 1)
    let many = try Sequential(spec: spec, inputShape: Shape([3, 12, 12]), threads: threads)
    let batch = 7  // not a multiple of the thread count
    let params = one.makeParameters(seed: 5)
    var rng = RNG(seed: 6)
    let x = (0..<(batch * 432)).map { _ in rng.normal() }
    let labels: [Int32] = [0, 1, 2, 3, 4, 0, 1]
    func run(_ m: Sequential) -> ([Float], [Float]) {
      let ws = m.makeWorkspace(maxBatch: batch)
      for i in 0..<x.count { ws.input[i] = x[i] }
      var r = RNG(seed: 0)
      let logits = m.forward(ws, batch: batch, parameters: params, mode: .train, rng: &r)
      _ = SoftmaxCrossEntropy.loss(
        dLogits: ws.dOutput.pointer, logits: logits.baseAddress!, labels: labels,
        weights: nil, mask: nil, batch: batch, classes: 5)
      let g = m.makeBuffer()
      m.backward(ws, batch: batch, parameters: params, gradients: g)
      return (Array(logits), g.array)
    }
    let a = run(one), b = run(many)
    expectClose(b.0, a.0, absolute: 1e-5, relative: 1e-5, "logits")
    expectClose(b.1, a.1, absolute: 1e-5, relative: 1e-4, "gradients")
  }

  @Test("gradient check of a convolution split over two threads")
  func convTwoThreads() throws {
    let layer = try Conv2D(
      input: Shape([2, 6, 5]), outChannels: 3, kernelSize: 3, stride: 1, padding: 1, fusedReLU: true, workers: 2)
    let r = try LayerGradientCheck(layer: layer, inputShape: Shape([2, 6, 5]), batch: 3, seed: 77).run()
    #expect(r.input.maxRelativeError < 1e-2, "\(r.input)")
    #expect(try #require(r.parameters).maxRelativeError < 1e-2)
  }
}
