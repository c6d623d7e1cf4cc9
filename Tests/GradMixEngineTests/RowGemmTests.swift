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
    var padding: Int { p ?? k / 2 }
    var testDescription: String { "c\(c) \(h)x\(w) -> oc\(oc) k\(k) s\(s) p\(padding)" }
  }

  /// y, dx and dW of a same convolution, one image per chunk, or of a
  /// strided one, with the row GEMM and with `cblas_sgemm`, at 1 and 2
  /// workers. The two sum the same
  /// products in an order that differs only where OpenBLAS splits K into
  /// blocks, so they agree to float rounding (1e-5 of the largest value).
  @Test(
    "a same or strided convolution gives the cblas path's results",
    arguments: [
      Case(c: 5, h: 7, w: 7, oc: 13, k: 3), Case(c: 16, h: 8, w: 8, oc: 8, k: 3),
      Case(c: 3, h: 6, w: 9, oc: 4, k: 5), Case(c: 6, h: 8, w: 8, oc: 12, k: 3, s: 2),
      Case(c: 4, h: 7, w: 9, oc: 5, k: 3, s: 2), Case(c: 8, h: 8, w: 8, oc: 16, k: 1, s: 2, p: 0),
      Case(c: 3, h: 11, w: 10, oc: 4, k: 5, s: 3, p: 1),
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
          chunkFloats: 1, rowGemm: row)
        #expect(conv.usesRowGemm(conv.geometry, batch: n) == row)
        results.append(run(conv, x: x, dy: dy, params: params, batch: n))
      }
      let scale = results[0].map(abs).max() ?? 1
      let worst = zip(results[0], results[1]).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 1e-5 * scale, "\(workers) worker(s): largest difference \(worst) of \(scale)")
    }
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
