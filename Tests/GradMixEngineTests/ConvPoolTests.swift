import GradMixEngine
import Testing

@testable import GradMixEngine

/// ``ConvPool`` against the two layers it replaces, `Conv2D` (ReLU fused) then
/// `MaxPool2D`: the same output, dX and dW, db bit for bit, in the chunked,
/// the one-image and the transposed-dX paths, at 1 and 2 workers. ReLU zeros
/// make windows with ties, which the first-maximum rule must break alike.
struct ConvPoolTests {
  struct Case: CustomTestStringConvertible, Sendable {
    let c: Int, h: Int, oc: Int, k: Int, p: Int, pool: Int, poolStride: Int, batch: Int, chunk: Int?
    var testDescription: String {
      "c\(c) \(h)x\(h) -> oc\(oc) k\(k) p\(p), pool\(pool)s\(poolStride), batch \(batch), chunk \(chunk.map(String.init) ?? "default")"
    }
  }

  /// Forward then backward of `layer` on `x`; returns y, dX and dθ (dθ starts at 0.5: backward adds).
  func passes(
    _ layer: any Layer, _ x: [Float], _ theta: [Float], dy: [Float], shape: Shape, outCount: Int, batch: Int,
    scratch: FlatBuffer
  ) -> (y: [Float], dx: [Float], dTheta: [Float]) {
    var y = [Float](repeating: .nan, count: outCount), dx = [Float](repeating: .nan, count: x.count)
    var dTheta = [Float](repeating: 0.5, count: max(1, theta.count))
    let p = theta.isEmpty ? [0] : theta
    var rng = RNG(seed: 3)
    y.withUnsafeMutableBufferPointer { yb in
      layer.forward(
        output: yb.baseAddress!, input: x, parameters: p, state: scratch.pointer, scratch: scratch.pointer,
        inputShape: shape, batch: batch, mode: .train, rng: &rng)
    }
    dx.withUnsafeMutableBufferPointer { dxb in
      dTheta.withUnsafeMutableBufferPointer { db in
        layer.backward(
          dInput: dxb.baseAddress!, dParameters: db.baseAddress!, dOutput: dy, input: x, output: y, parameters: p,
          scratch: scratch.pointer, inputShape: shape, batch: batch)
      }
    }
    return (y, dx, dTheta)
  }

  @Test(
    "conv-relu-pool as one layer equals Conv2D + MaxPool2D bit for bit",
    arguments: [
      // Several images per chunk and a partial last chunk (19,200 floats of columns per image).
      Case(c: 3, h: 20, oc: 8, k: 5, p: 0, pool: 2, poolStride: 2, batch: 7, chunk: 40_000),
      // The default chunk: the whole batch in one chunk.
      Case(c: 3, h: 12, oc: 6, k: 5, p: 0, pool: 2, poolStride: 2, batch: 5, chunk: nil),
      // One image per chunk on a same convolution: the transposed dX path; overlapping 3s2 windows.
      Case(c: 2, h: 9, oc: 4, k: 3, p: 1, pool: 3, poolStride: 2, batch: 3, chunk: 1),
      // One image per chunk, valid convolution, odd plane (the last row and column in no window).
      Case(c: 2, h: 11, oc: 5, k: 3, p: 0, pool: 2, poolStride: 2, batch: 3, chunk: 1),
    ])
  func matchesSeparateLayers(_ t: Case) throws {
    let shape = Shape([t.c, t.h, t.h])
    for workers in [1, 2] {
      let conv = try Conv2D(
        input: shape, outChannels: t.oc, kernelSize: t.k, padding: t.p, fusedReLU: true, workers: workers,
        chunkFloats: t.chunk, rowGemm: false)  // ConvPool's convolutions (a same one on a machine without AVX-512)
      let pool = try MaxPool2D(kernelSize: t.pool, stride: t.poolStride, input: conv.outputShape)
      let fused = try ConvPool(conv: conv, poolKernel: t.pool, poolStride: t.poolStride)
      let pooled = try fused.outputShape(for: shape)
      #expect(pooled == (try pool.outputShape(for: conv.outputShape)))
      var rng = RNG(seed: UInt64(t.h * 10 + workers))
      let x = (0..<(t.batch * shape.count)).map { _ in rng.normal() }
      // Weights and biases around zero: about half of the ReLU outputs are 0, so some windows tie at 0.
      let theta = (0..<conv.parameterCount).map { _ in rng.normal() * 0.3 }
      let dy = (0..<(t.batch * pooled.count)).map { _ in rng.normal() }

      let a = passes(
        fused, x, theta, dy: dy, shape: shape, outCount: dy.count, batch: t.batch,
        scratch: FlatBuffer(count: fused.scratchCount(input: shape, batch: t.batch)))
      // The reference: the convolution's output stored, pooled, and back.
      let convOut = t.batch * conv.outputShape.count
      let convScratch = FlatBuffer(count: conv.scratchCount(input: shape, batch: t.batch))
      let poolScratch = FlatBuffer(count: pool.scratchCount(input: conv.outputShape, batch: t.batch))
      var z = [Float](repeating: .nan, count: convOut), y = [Float](repeating: .nan, count: dy.count)
      var dz = [Float](repeating: .nan, count: convOut), dx = [Float](repeating: .nan, count: x.count)
      var dTheta = [Float](repeating: 0.5, count: theta.count)
      var r = RNG(seed: 3)
      conv.forward(
        output: &z, input: x, parameters: theta, scratch: convScratch.pointer, inputShape: shape, batch: t.batch,
        mode: .train, rng: &r)
      pool.forward(
        output: &y, input: z, scratch: poolScratch.pointer, inputShape: conv.outputShape, batch: t.batch,
        mode: .train, rng: &r)
      pool.backward(
        dInput: &dz, dOutput: dy, input: z, output: y, scratch: poolScratch.pointer,
        inputShape: conv.outputShape, batch: t.batch)
      conv.backward(
        dInput: &dx, dParameters: &dTheta, dOutput: dz, input: x, output: z, parameters: theta,
        scratch: convScratch.pointer, inputShape: shape, batch: t.batch)

      #expect(a.y == y, "output, \(workers) worker(s)")
      #expect(a.dx == dx, "dX, \(workers) worker(s)")
      #expect(a.dTheta == dTheta, "dW, db, \(workers) worker(s)")
      // The ReLU clips some outputs; with 2x2 windows some windows are all 0 (a tie the mask must zero).
      #expect(z.contains(0) && y.contains { $0 > 0 } && (t.pool != 2 || y.contains(0)), "a case without the mask")
    }
  }

  @Test("a model spec's conv-relu-pool becomes one ConvPool with the conv's parameter names")
  func sequentialFusesConvReLUPool() throws {
    let spec = "conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10"
    let model = try Sequential(spec: spec, inputShape: Shape([3, 28, 28]))
    #expect(model.layers.map(\.token).prefix(2) == ["conv32k5+relu+pool2", "conv64k5+relu+pool2"])
    #expect(model.layers.prefix(2).allSatisfy { $0 is ConvPool })
    #expect(model.shapes[1] == Shape([32, 12, 12]) && model.shapes[2] == Shape([64, 4, 4]))
    let separate = try Sequential(spec: spec, inputShape: Shape([3, 28, 28]), fuseReLU: false)
    #expect(model.layout == separate.layout)
  }

  /// A same or strided convolution multiplies with the row GEMM where it runs, whose
  /// chunks ConvPool's epilogue does not take: there conv-relu-pool stays a fused
  /// convolution and a pooling layer, and the model still trains (gradient check).
  @Test("conv-relu-pool of a same or strided convolution is fused only without the row GEMM")
  func rowGemmConvolutionsStaySeparate() throws {
    let spec = "conv4k3p1-relu-pool2-conv6k3s2p1-relu-pool2-fc5"
    let model = try Sequential(spec: spec, inputShape: Shape([2, 8, 8]))
    let pooled = model.layers.filter { $0 is ConvPool }.count
    #expect(pooled == (RowGemm.available ? 0 : 2), "\(model.layers.map(\.token))")
    let convs = model.layers.compactMap { $0 as? Conv2D }
    #expect(convs.allSatisfy(\.backwardMayUseRowGemm) && convs.count == (RowGemm.available ? 2 : 0))
    let valid = try Sequential(spec: "conv4k3-relu-pool2-fc5", inputShape: Shape([2, 8, 8]))
    #expect(valid.layers.first is ConvPool)
  }
}
