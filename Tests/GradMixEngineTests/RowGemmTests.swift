import Testing

@testable import GradMixEngine

/// The row GEMM (CKernels, RowGemm.c) and the same convolutions that use it.
@Suite("Row GEMM", .enabled(if: RowGemm.available, "needs AVX-512F"))
struct RowGemmTests {
  /// Every element is one FMA chain over k in order, so a scalar chain of
  /// `addingProduct` (a fused multiply-add) gives the same bits. Rows of B
  /// overlap (offsets 3 apart, 45 floats long), M = 13 runs the 8-, 4- and
  /// 1-row tiles and N = 45 a masked tail of 13 columns.
  @Test("equals a fused multiply-add chain per element", arguments: [false, true])
  func matchesChain(accumulate: Bool) {
    let m = 13, n = 45, k = 11, lda = k + 2, ldc = n + 3
    var rng = RNG(seed: 7)
    let a = (0..<(m * lda)).map { _ in rng.normal() }
    let b = (0..<(3 * k + n)).map { _ in rng.normal() }
    let rows = (0..<k).map { ($0 * 7) % k * 3 }  // overlapping, out of order
    let c0 = (0..<(m * ldc)).map { _ in rng.normal() }
    var c = c0
    c.withUnsafeMutableBufferPointer { cb in
      RowGemm.multiply(
        cb.baseAddress!, ldc: ldc, a, lda: lda, b, rows: rows, m: m, n: n, k: k, accumulate: accumulate)
    }
    var same = true
    for i in 0..<m {
      for j in 0..<ldc {
        guard j < n else {
          same = same && c[i * ldc + j] == c0[i * ldc + j]  // past n: untouched
          continue
        }
        var chain: Float = 0
        for q in 0..<k { chain = chain.addingProduct(a[i * lda + q], b[rows[q] + j]) }
        let want = accumulate ? c0[i * ldc + j] + chain : chain
        same = same && c[i * ldc + j] == want
      }
    }
    #expect(same)
  }

  struct Case: CustomTestStringConvertible, Sendable {
    let c: Int, h: Int, w: Int, oc: Int, k: Int
    var s = 1, p: Int? = nil
    /// The layer's chunkFloats: 1 is one image per chunk; a valid convolution also runs 3 per chunk.
    var chunk = 1
    var padding: Int { p ?? k / 2 }
    var testDescription: String { "c\(c) \(h)x\(w) -> oc\(oc) k\(k) s\(s) p\(padding), chunk \(chunk)" }
  }

  /// y, dx and dW of a same convolution, one image per chunk, of a
  /// strided one, or of a valid one (forward, and dW from 8 channels on),
  /// with the row GEMM and with `cblas_sgemm`, at 1 and 2 workers, with
  /// one and with 3 images per chunk. The two sum the same
  /// products in an order that differs only where OpenBLAS splits K into
  /// blocks, so they agree to float rounding (1e-5 of the largest value).
  @Test(
    "a same or strided convolution gives the cblas path's results",
    arguments: [
      Case(c: 5, h: 7, w: 7, oc: 13, k: 3), Case(c: 16, h: 8, w: 8, oc: 8, k: 3),
      Case(c: 3, h: 6, w: 9, oc: 4, k: 5), Case(c: 6, h: 8, w: 8, oc: 12, k: 3, s: 2),
      Case(c: 4, h: 7, w: 9, oc: 5, k: 3, s: 2), Case(c: 8, h: 8, w: 8, oc: 16, k: 1, s: 2, p: 0),
      Case(c: 3, h: 11, w: 10, oc: 4, k: 5, s: 3, p: 1),
      Case(c: 3, h: 9, w: 10, oc: 5, k: 5, p: 0), Case(c: 3, h: 9, w: 10, oc: 5, k: 5, p: 0, chunk: 1 << 20),
      Case(c: 9, h: 12, w: 11, oc: 13, k: 5, p: 0), Case(c: 9, h: 12, w: 11, oc: 13, k: 5, p: 0, chunk: 1 << 20),
    ])
  func convolutionMatchesBLAS(_ t: Case) throws {
    let shape = Shape([t.c, t.h, t.w]), n = 3
    var rng = RNG(seed: UInt64(t.c * 100 + t.oc))
    let x = (0..<(n * shape.count)).map { _ in rng.normal() }
    let outH = (t.h + 2 * t.padding - t.k) / t.s + 1, outW = (t.w + 2 * t.padding - t.k) / t.s + 1
    let dy = (0..<(n * t.oc * outH * outW)).map { _ in rng.normal() }
    let params = (0..<(t.oc * (t.c * t.k * t.k + 1))).map { _ in rng.normal() * 0.3 }
    for workers in [1, 2] {
      var results: [[Float]] = []
      for row in [false, true] {
        let conv = try Conv2D(
          input: shape, outChannels: t.oc, kernelSize: t.k, stride: t.s, padding: t.padding, workers: workers,
          chunkFloats: t.chunk, rowGemm: row)
        let valid = t.s == 1 && t.padding == 0
        #expect(conv.forwardUsesRowGemm(conv.geometry, batch: n) == row)
        #expect(conv.usesRowGemm(conv.geometry, batch: n) == (row && !valid))
        #expect(conv.takesWeightTaps(conv.geometry, batch: n) == (row && (!valid || t.c >= 8)))
        results.append(run(conv, x: x, dy: dy, params: params, batch: n))
      }
      let scale = results[0].map(abs).max() ?? 1
      let worst = zip(results[0], results[1]).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 1e-5 * scale, "\(workers) worker(s): largest difference \(worst) of \(scale)")
    }
  }

  /// The sgemm-only bound (`gradmix bench engine --sgemm-bound`) replays the
  /// recorded calls: a product the row GEMM computes must be recorded as the
  /// call the im2col path makes for it, so the same step has the same bound
  /// on either path. OC = 23 tells this layer's calls from those of tests
  /// running beside it; the recorder is process-wide, so the cases run one
  /// at a time.
  @Test(
    "records the im2col path's sgemm calls for the products it computes", .serialized,
    arguments: [
      Case(c: 3, h: 9, w: 10, oc: 23, k: 5, p: 0, chunk: 1 << 20), Case(c: 9, h: 12, w: 11, oc: 23, k: 5, p: 0),
      Case(c: 9, h: 12, w: 11, oc: 23, k: 5, p: 0, chunk: 1 << 20), Case(c: 6, h: 8, w: 8, oc: 23, k: 3, s: 2),
    ])
  func recordsEquivalentCalls(_ t: Case) throws {
    let shape = Shape([t.c, t.h, t.w]), n = 3
    let outH = (t.h + 2 * t.padding - t.k) / t.s + 1, outW = (t.w + 2 * t.padding - t.k) / t.s + 1
    var rng = RNG(seed: 3)
    let x = (0..<(n * shape.count)).map { _ in rng.normal() }
    let dy = (0..<(n * t.oc * outH * outW)).map { _ in rng.normal() }
    let params = (0..<(t.oc * (t.c * t.k * t.k + 1))).map { _ in rng.normal() * 0.3 }
    var recorded: [[String]] = []
    for row in [false, true] {
      let conv = try Conv2D(
        input: shape, outChannels: t.oc, kernelSize: t.k, stride: t.s, padding: t.padding, workers: 1,
        chunkFloats: t.chunk, rowGemm: row)
      let recorder = GemmRecorder()
      _ = BLAS.recordingGemms(recorder) { run(conv, x: x, dy: dy, params: params, batch: n) }
      let mine = recorder.calls.filter { $0.m == t.oc || $0.k == t.oc }
      recorded.append(mine.map { "\($0)" }.sorted())
    }
    #expect(!recorded[0].isEmpty)
    #expect(recorded[0] == recorded[1])
  }

  /// y, dx and dW (with db) of one forward and backward pass, concatenated.
  func run(_ conv: Conv2D, x: [Float], dy: [Float], params: [Float], batch n: Int) -> [Float] {
    var y = [Float](repeating: 0, count: dy.count)
    var dx = [Float](repeating: .nan, count: x.count)
    var dp = [Float](repeating: 0, count: params.count)
    var scratch = [Float](repeating: .nan, count: conv.scratchCount(input: conv.inputShape, batch: n))
    var rng = RNG(seed: 0)
    y.withUnsafeMutableBufferPointer { yb in
      scratch.withUnsafeMutableBufferPointer { sb in
        conv.forward(
          output: yb.baseAddress!, input: x, parameters: params, scratch: sb.baseAddress!,
          inputShape: conv.inputShape, batch: n, mode: .train, rng: &rng)
      }
    }
    dx.withUnsafeMutableBufferPointer { dxb in
      dp.withUnsafeMutableBufferPointer { dpb in
        scratch.withUnsafeMutableBufferPointer { sb in
          conv.backward(
            dInput: dxb.baseAddress!, dParameters: dpb.baseAddress!, dOutput: dy, input: x, output: y,
            parameters: params, scratch: sb.baseAddress!, inputShape: conv.inputShape, batch: n)
        }
      }
    }
    return y + dx + dp
  }
}
