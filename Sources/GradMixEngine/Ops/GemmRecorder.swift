import COpenBLAS
import Foundation

/// The shape of one `sgemm` call, as ``BLAS/gemm(_:ldc:_:lda:transposeA:_:ldb:transposeB:m:n:k:alpha:beta:)`` made it.
public struct GemmCall: Hashable, Sendable {
  public var m, n, k, lda, ldb, ldc: Int
  public var transposeA, transposeB: Bool
  public var beta: Float

  @inlinable
  public init(m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, transposeA: Bool, transposeB: Bool, beta: Float) {
    self.m = m; self.n = n; self.k = k; self.lda = lda; self.ldb = ldb; self.ldc = ldc
    self.transposeA = transposeA; self.transposeB = transposeB; self.beta = beta
  }

  /// Floating-point operations (2·M·N·K).
  public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Records the shapes of the `sgemm` calls the engine makes while it is
/// installed (``BLAS/recordingGemms(_:)``), with the call the im2col path
/// would make for each product the row GEMM computes instead
/// (``BLAS/recordEquivalent(_:)``), and replays them alone: the
/// time of a step's GEMMs with nothing else around them, the bound the
/// engine's step is measured against (issue 30, "GEMM-bound share").
public final class GemmRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var _calls: [GemmCall] = []

  public init() {}

  @usableFromInline func record(_ call: GemmCall) {
    lock.lock(); _calls.append(call); lock.unlock()
  }

  /// The calls recorded so far, in the order they were made.
  public var calls: [GemmCall] {
    lock.lock(); defer { lock.unlock() }
    return _calls
  }

  /// Seconds to run `calls` back to back on one thread, on operands filled
  /// once with random values (the same buffers for every call, sized for the
  /// largest; Choice: operands stay as warm in cache as the engine's own,
  /// which reads columns im2col has just written); median of `repeats`
  /// after one untimed pass.
  public static func replaySeconds(_ calls: [GemmCall], repeats: Int = 5) -> Double {
    func size(_ rows: Int, _ ld: Int) -> Int { rows * ld }
    var aCount = 1, bCount = 1, cCount = 1
    for c in calls {
      aCount = max(aCount, size(c.transposeA ? c.k : c.m, c.lda))
      bCount = max(bCount, size(c.transposeB ? c.n : c.k, c.ldb))
      cCount = max(cCount, size(c.m, c.ldc))
    }
    var rng = RNG(seed: 9)
    let a = (0..<aCount).map { _ in rng.uniform() - 0.5 }, b = (0..<bCount).map { _ in rng.uniform() - 0.5 }
    var out = [Float](repeating: 0, count: cCount)
    func pass() {
      out.withUnsafeMutableBufferPointer { cp in
        for c in calls {
          BLAS.gemm(
            cp.baseAddress!, ldc: c.ldc, a, lda: c.lda, transposeA: c.transposeA, b, ldb: c.ldb,
            transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, beta: c.beta == 0 ? 0 : 1)
        }
      }
    }
    let saved = BLAS.gemmRecorder
    BLAS.gemmRecorder = nil
    defer { BLAS.gemmRecorder = saved }
    pass()
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) {
      let start = monotonicSeconds()
      pass()
      times.append(monotonicSeconds() - start)
    }
    return median(times)
  }
}

extension BLAS {
  /// The recorder every ``gemm(_:ldc:_:lda:transposeA:_:ldb:transposeB:m:n:k:alpha:beta:)`` reports to; nil (the default) records nothing.
  @usableFromInline nonisolated(unsafe) static var gemmRecorder: GemmRecorder?

  /// Records `call` as if `gemm` had made it, for a product the engine
  /// computes with its own kernel (``RowGemm``): the bound then holds the
  /// im2col path's `sgemm` call for the same product, so a faster kernel
  /// shows as a larger share of the bound, not as a smaller bound.
  @inlinable
  public static func recordEquivalent(_ call: GemmCall) {
    gemmRecorder?.record(call)
  }

  /// Runs `body` with `recorder` installed, and returns what `body` returns.
  public static func recordingGemms<R>(_ recorder: GemmRecorder, _ body: () throws -> R) rethrows -> R {
    gemmRecorder = recorder
    defer { gemmRecorder = nil }
    return try body()
  }
}
