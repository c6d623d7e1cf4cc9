import GradMixTestSupport
import Testing

@testable import GradMixEngine

/// Engine results at 1 and 2 threads (issue 30). Work split by channel
/// (BatchNorm) or by image plane (pooling), and elementwise loops (ReLU, the
/// SGD step, residual adds) give the same bits at any thread count: each
/// value is computed by one thread in a fixed order. A convolution or dense
/// layer gives each worker a contiguous share of the batch and runs one GEMM
/// per chunk of it; OpenBLAS's result for an image can depend on the
/// GEMM's shape and the image's column offset in it, and a weight gradient
/// is summed per worker before the workers' sums are added, so those differ
/// in rounding (not with timing: the same thread count gives the same bits).
@Suite("Engine results at 1 and 2 threads")
struct ThreadCountTests {
  struct Pass {
    var logits: [Float], state: [Float], gradients: [Float]
  }

  /// One seeded train-mode forward pass and a backward pass of a fixed dL/dlogits at `threads`.
  func pass(_ spec: String, _ input: [Int], batch: Int, threads: Int) throws -> (Sequential, Pass) {
    try BLAS.withThreads(threads) {
      let model = try Sequential(spec: spec, inputShape: Shape(input))
      let params = model.makeParameters(seed: 7), state = model.makeState(), grads = model.makeBuffer()
      let ws = model.makeWorkspace(maxBatch: batch)
      var data = RNG(seed: 11)
      for j in 0..<(batch * model.inputShape.count) { ws.input[j] = data.normal() }
      var rng = RNG(seed: 3)
      let logits = Array(model.forward(ws, batch: batch, parameters: params, state: state, mode: .train, rng: &rng))
      for j in 0..<(batch * model.classCount) { ws.dOutput.storage[j] = data.normal() }
      model.backward(ws, batch: batch, parameters: params, gradients: grads)
      return (model, Pass(logits: logits, state: Array(state.storage), gradients: Array(grads.storage)))
    }
  }

  /// Largest difference relative to the largest magnitude of `a`, or to
  /// `floor` if larger (a conv bias before BatchNorm has a gradient of 0 up
  /// to rounding: it is judged against the model's largest gradient).
  func relativeDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>, floor: Float = 1e-6) -> Float {
    let scale = a.map { abs($0) }.max() ?? 0
    return (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / max(scale, floor)
  }

  @Test(
    "a model's forward and backward pass at 1 and 2 threads agree to float rounding; 2 threads twice give the same bits",
    arguments: [
      ("conv8k3p1-bn-relu-res8-res16s2-res16-gap-fc4", [3, 12, 12]),
      ("conv8k5-relu-pool2-conv16k3-relu-pool2-fc32-relu-fc10", [3, 20, 20]),
    ])
  func model(_ c: (String, [Int])) throws {
    let (model, one) = try pass(c.0, c.1, batch: 7, threads: 1)
    let (_, two) = try pass(c.0, c.1, batch: 7, threads: 2)
    let (_, again) = try pass(c.0, c.1, batch: 7, threads: 2)
    #expect(two.logits == again.logits && two.gradients == again.gradients && two.state == again.state)
    #expect(relativeDifference(one.logits[...], two.logits[...]) < 1e-5)
    #expect(relativeDifference(one.state[...], two.state[...]) < 1e-5)
    let largest = one.gradients.map { abs($0) }.max() ?? 0
    for e in model.layout.entries {
      let d = relativeDifference(one.gradients[e.range], two.gradients[e.range], floor: largest)
      #expect(d < 1e-4, "\(e.name): relative difference \(d) between 1 and 2 threads")
    }
  }

  /// A same convolution with one image per chunk takes dW from the columns
  /// of dY that its dX GEMM unfolds, summed per worker; with larger chunks
  /// it takes dW from the columns of x. Both must agree to float rounding,
  /// at 1 and 2 workers, and 2 workers twice give the same bits.
  @Test("a same convolution's dW from the columns of dY agrees with the general path at 1 and 2 workers")
  func sameConvolutionWeightGradient() throws {
    let shape = Shape([3, 6, 5]), n = 5, oc = 4
    var data = RNG(seed: 5)
    let x = (0..<(n * shape.count)).map { _ in data.normal() }
    let dy = (0..<(n * oc * 30)).map { _ in data.normal() }
    let w = (0..<(oc * 3 * 9)).map { _ in data.normal() }
    func run(workers: Int, chunk: Int?) throws -> (dx: [Float], dw: [Float]) {
      let conv = try Conv2D(
        input: shape, outChannels: oc, kernelSize: 3, padding: 1, hasBias: false, workers: workers,
        chunkFloats: chunk)
      var scratch = [Float](repeating: .nan, count: conv.scratchCount(input: shape, batch: n))
      var dx = [Float](repeating: .nan, count: x.count), dw = [Float](repeating: 0, count: w.count)
      let y = [Float](repeating: 0, count: dy.count)
      conv.backward(
        dInput: &dx, dParameters: &dw, dOutput: dy, input: x, output: y, parameters: w, scratch: &scratch,
        inputShape: shape, batch: n)
      return (dx, dw)
    }
    let general = try run(workers: 1, chunk: nil), one = try run(workers: 1, chunk: 1)
    let two = try run(workers: 2, chunk: 1), again = try run(workers: 2, chunk: 1)
    #expect(
      try Conv2D(input: shape, outChannels: oc, kernelSize: 3, padding: 1, chunkFloats: 1)
        .transposedInputGradient(
          ConvGeometry(channels: 3, height: 6, width: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 1)!, batch: n))
    #expect(two.dx == again.dx && two.dw == again.dw)
    let scaleW = general.dw.map { abs($0) }.max() ?? 1, scaleX = general.dx.map { abs($0) }.max() ?? 1
    for other in [one, two] {
      #expect(zip(general.dw, other.dw).allSatisfy { abs($0 - $1) <= 1e-5 * scaleW })
      #expect(zip(general.dx, other.dx).allSatisfy { abs($0 - $1) <= 1e-5 * scaleX })
    }
  }

  @Test("BatchNorm and max pooling give the same bits at 1 and 2 threads")
  func perChannelLayers() throws {
    let shape = Shape([6, 5, 7]), n = 5, count = n * shape.count
    var data = RNG(seed: 2)
    let x = (0..<count).map { _ in data.normal() }, dy = (0..<count).map { _ in data.normal() }
    func run(_ layer: any Layer, _ threads: Int) -> [Float] {
      BLAS.withThreads(threads) {
        let out = (try? layer.outputShape(for: shape)) ?? shape
        let params = FlatBuffer((0..<max(layer.parameterCount, 1)).map { Float($0 % 5) * 0.3 + 0.5 })
        let state = FlatBuffer(count: max(layer.stateCount, 1)), grads = FlatBuffer(count: max(layer.parameterCount, 1))
        if layer.stateCount > 0 { for j in shape.dims[0]..<(2 * shape.dims[0]) { state.pointer[j] = 1 } }
        let scratch = FlatBuffer(count: max(layer.scratchCount(input: shape, batch: n), 1))
        var y = [Float](repeating: 0, count: n * out.count), dx = [Float](repeating: 0, count: count)
        var rng = RNG(seed: 1)
        x.withUnsafeBufferPointer { xp in
          dy.withUnsafeBufferPointer { dyp in
            y.withUnsafeMutableBufferPointer { yp in
              dx.withUnsafeMutableBufferPointer { dxp in
                layer.forward(
                  output: yp.baseAddress!, input: xp.baseAddress!, parameters: params.pointer, state: state.pointer,
                  scratch: scratch.pointer, inputShape: shape, batch: n, mode: .train, rng: &rng)
                layer.backward(
                  dInput: dxp.baseAddress!, dParameters: grads.pointer, dOutput: dyp.baseAddress!,
                  input: xp.baseAddress!, output: yp.baseAddress!, parameters: params.pointer,
                  scratch: scratch.pointer, inputShape: shape, batch: n)
              }
            }
          }
        }
        return y + dx + Array(grads.storage) + Array(state.storage)
      }
    }
    for layer in try [
      BatchNorm(channels: 6, fusedReLU: true), BatchNorm(channels: 6),
      MaxPool2D(kernelSize: 2, stride: 2, input: shape),
    ]
      as [any Layer]
    {
      #expect(run(layer, 1) == run(layer, 2), "\(layer.token)")
    }
  }

  @Test("an SGD step and a stand-alone ReLU give the same bits at 1 and 2 threads")
  func elementwise() {
    let count = 100_003  // over two grains, so 2 threads split it
    func run(_ threads: Int) -> ([Float], [Float], [Float]) {
      BLAS.withThreads(threads) {
        var rng = RNG(seed: 5)
        let p = FlatBuffer((0..<count).map { _ in rng.normal() })
        let g = FlatBuffer((0..<count).map { _ in rng.normal() })
        let v = FlatBuffer((0..<count).map { _ in rng.normal() })
        for nesterov in [false, true] {
          SGD(momentum: 0.9, weightDecay: 5e-4, nesterov: nesterov).step(
            parameters: p, gradients: g, velocity: v, learningRate: 0.01)
        }
        var y = [Float](repeating: 0, count: count), dx = y
        var r = RNG(seed: 1)
        y.withUnsafeMutableBufferPointer { yp in
          ReLU().forward(
            output: yp.baseAddress!, input: p.pointer, parameters: p.pointer, scratch: v.pointer,
            inputShape: Shape([count]), batch: 1, mode: .train, rng: &r)
          dx.withUnsafeMutableBufferPointer { dp in
            ReLU().backward(
              dInput: dp.baseAddress!, dParameters: v.pointer, dOutput: g.pointer, input: p.pointer,
              output: yp.baseAddress!, parameters: p.pointer, scratch: v.pointer, inputShape: Shape([count]), batch: 1)
          }
        }
        return (Array(p.storage) + Array(v.storage), y, dx)
      }
    }
    let one = run(1), two = run(2)
    #expect(one.0 == two.0)
    #expect(one.1 == two.1 && one.2 == two.2)
    #expect(one.1.contains(0) && one.1.contains { $0 > 0 })  // the ReLU had both sides to pass
  }
}
