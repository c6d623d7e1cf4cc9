import Foundation

/// Summary statistics over seeds: mean, sample standard deviation, and the
/// Student-t confidence interval of the mean.
///
/// Reference: the t interval x̄ ± t_{1−α/2, n−1} · s/√n (e.g. NIST/SEMATECH
/// e-Handbook of Statistical Methods, §7.2.2.1); the t quantile is found by
/// bisection on the t CDF, which uses the regularised incomplete beta
/// function I_x(a, b) by its continued fraction (Press et al., Numerical
/// Recipes, 3rd ed., §6.4, `betacf`).
public enum Statistics {
  /// A mean with its confidence half-width (nil for fewer than two values).
  public struct Estimate: Equatable, Sendable {
    public let count: Int
    public let mean: Double
    public let standardDeviation: Double?
    public let halfWidth: Double?
  }

  public static func mean(_ x: [Double]) -> Double {
    x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count)
  }

  /// The sample standard deviation (n − 1 in the denominator); nil below two values.
  public static func standardDeviation(_ x: [Double]) -> Double? {
    guard x.count >= 2 else { return nil }
    let m = mean(x)
    return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
  }

  /// The mean of `x` with its two-sided `level` (default 95%) Student-t interval.
  public static func estimate(_ x: [Double], level: Double = 0.95) -> Estimate {
    let sd = standardDeviation(x)
    let half: Double? = sd.map { s in
      let t = tQuantile(1 - (1 - level) / 2, degreesOfFreedom: Double(x.count - 1))
      return t * s / Double(x.count).squareRoot()
    }
    return Estimate(count: x.count, mean: mean(x), standardDeviation: sd, halfWidth: half)
  }

  /// The paired differences `a[key] − b[key]` over the keys both have, sorted by key.
  public static func pairedDifferences<K: Hashable & Comparable>(_ a: [K: Double], _ b: [K: Double]) -> [Double] {
    a.keys.filter { b[$0] != nil }.sorted().map { a[$0]! - b[$0]! }
  }

  // MARK: - Student t

  /// P(T ≤ t) for Student's t with `df` degrees of freedom.
  public static func tCDF(_ t: Double, degreesOfFreedom df: Double) -> Double {
    let x = df / (df + t * t)
    let tail = 0.5 * regularizedIncompleteBeta(x, a: df / 2, b: 0.5)
    return t >= 0 ? 1 - tail : tail
  }

  /// The `p` quantile of Student's t with `df` degrees of freedom (bisection, to 1e-12).
  public static func tQuantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
    precondition(p > 0 && p < 1 && df > 0, "The t quantile needs 0 < p < 1 and df > 0, got p \(p), df \(df).")
    var lo = -1e4, hi = 1e4
    for _ in 0..<200 {
      let mid = (lo + hi) / 2
      if tCDF(mid, degreesOfFreedom: df) < p { lo = mid } else { hi = mid }
      if hi - lo < 1e-12 { break }
    }
    return (lo + hi) / 2
  }

  /// I_x(a, b), the regularised incomplete beta function.
  static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let lnBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
    let lnFront: Double = lnBeta + a * log(x) + b * log(1 - x)
    if x < (a + 1) / (a + b + 2) { return exp(lnFront) * betaContinuedFraction(x, a: a, b: b) / a }
    return 1 - exp(lnFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
  }

  /// Lentz's method for the continued fraction of I_x(a, b).
  static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...300 {
      let m = Double(m), m2 = 2 * m
      var aa: Double = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
      d = 1 + aa * d; if abs(d) < tiny { d = tiny }
      c = 1 + aa / c; if abs(c) < tiny { c = tiny }
      d = 1 / d; h *= d * c
      let num: Double = -(a + m) * (a + b + m) * x
      aa = num / ((a + m2) * (a + m2 + 1))
      d = 1 + aa * d; if abs(d) < tiny { d = tiny }
      c = 1 + aa / c; if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-15 { break }
    }
    return h
  }
}
