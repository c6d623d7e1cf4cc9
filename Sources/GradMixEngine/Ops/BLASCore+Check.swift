import Foundation

/// The start-up check of OpenBLAS's kernels: a few small sgemm calls against a naive loop.
///
/// Choice: shapes with odd sizes and every transpose combination, so the
/// kernels' edge paths run as well as their main blocks; a relative error
/// over 1e-4 (single precision over K ≤ 67 products stays far below) fails.
/// Some OpenBLAS builds were reported to compute wrong results on some CPUs
/// (issue 30), so a kernel set chosen automatically is refused when it fails.
extension BLASCore {
  /// The outcome of ``check(faultCore:)``.
  public struct CheckResult: Sendable {
    public var passed: Bool
    /// The largest error relative to the reference's largest magnitude.
    public var maxRelativeError: Double
    public var detail: String { String(format: "max relative error %.2e", maxRelativeError) }
  }

  /// Runs the check on the loaded kernels.
  /// - Parameter faultCore: test hook: on this kernel set (case-insensitive)
  ///   the check sees a wrong result; default `GRADMIX_BLAS_CHECK_FAULT`.
  public static func check(
    faultCore: String? = ProcessInfo.processInfo.environment["GRADMIX_BLAS_CHECK_FAULT"]
  ) -> CheckResult {
    var rng = RNG(seed: 30)
    var worst = 0.0
    for (m, n, k) in [(37, 45, 67), (64, 64, 64), (5, 129, 17)] {
      for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = (0..<(m * k)).map { _ in rng.uniform() * 2 - 1 }
        let b = (0..<(k * n)).map { _ in rng.uniform() * 2 - 1 }
        var c = [Float](repeating: 0, count: m * n)
        let lda = ta ? m : k, ldb = tb ? k : n
        c.withUnsafeMutableBufferPointer { cp in
          BLAS.gemm(
            cp.baseAddress!, ldc: n, a, lda: lda, transposeA: ta, b, ldb: ldb, transposeB: tb, m: m, n: n, k: k)
        }
        if let fault = faultCore, fault.lowercased() == name.lowercased() { c[c.count / 2] += 1 }
        var scale = 0.0, err = 0.0
        for i in 0..<m {
          for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
              let x = Double(ta ? a[p * lda + i] : a[i * lda + p]), y = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
              s += x * y
            }
            scale = max(scale, abs(s))
            err = max(err, abs(s - Double(c[i * n + j])))
          }
        }
        worst = max(worst, err / max(scale, 1e-30))
      }
    }
    return CheckResult(passed: worst <= 1e-4, maxRelativeError: worst)
  }
}
