// Legend: N = batch, K = classes.

/// Which classes take part in a softmax: a source that only knows digits
/// 5-9 trains with the other logits excluded (as if they were -inf).
public struct ClassMask: Equatable, Sendable {
  public let allowed: [Bool]
  public init(allowed: [Bool]) {
    precondition(allowed.contains(true), "A class mask must allow at least one class.")
    self.allowed = allowed
  }
  /// A mask over `classCount` classes allowing exactly `classes`.
  public init(classCount: Int, allowing classes: [Int]) {
    var a = [Bool](repeating: false, count: classCount)
    for c in classes {
      precondition(c >= 0 && c < classCount, "Class \(c) is outside 0..<\(classCount).")
      a[c] = true
    }
    self.init(allowed: a)
  }
  public var classCount: Int { allowed.count }
}

/// Softmax cross-entropy with integer labels, optional per-sample weights
/// and an optional class mask.
///
///     L = (1/N) Σ_i w_i · ( −log softmax_M(z_i)[y_i] )
///
/// where softmax_M is taken over the allowed classes M only and w_i = 1
/// without weights. The gradient is dL/dz_ic = (w_i/N)(p_ic − [c = y_i]) for
/// c in M and 0 outside M. Dividing by N (not Σ w) keeps L linear in the
/// weights, so a sample with weight 0 (an unconfident pseudo-label) simply
/// drops out without rescaling the rest.
public enum SoftmaxCrossEntropy {
  /// Returns the mean loss and, if `dLogits` is given, writes dL/dlogits.
  ///
  /// - Parameters:
  ///   - dLogits: [N, K] output, or nil for the loss only.
  ///   - logits: [N, K].
  ///   - labels: [N], each in `0..<K` and allowed by `mask`.
  ///   - weights: [N] per-sample weights, or nil.
  ///   - mask: allowed classes, or nil for all.
  public static func loss(
    dLogits: UnsafeMutablePointer<Float>?,
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, weights: UnsafePointer<Float>?,
    mask: ClassMask?, batch n: Int, classes k: Int
  ) -> Float {
    precondition(n > 0 && k > 0, "The loss needs a positive batch and class count, got \(n) and \(k).")
    if let mask {
      precondition(mask.classCount == k, "The class mask has \(mask.classCount) classes, the logits \(k).")
    }
    var total = 0.0
    let invN = 1 / Float(n)
    for i in 0..<n {
      let z = logits + i * k
      let y = Int(labels[i])
      precondition(y >= 0 && y < k, "Label \(y) of sample \(i) is outside 0..<\(k).")
      precondition(mask?.allowed[y] ?? true, "Label \(y) of sample \(i) is not among the classes the mask allows.")
      var m = -Float.infinity
      for c in 0..<k where mask?.allowed[c] ?? true { m = max(m, z[c]) }
      var sum: Float = 0
      for c in 0..<k where mask?.allowed[c] ?? true { sum += _expf(z[c] - m) }
      let logSum = _logf(sum) + m
      let w = weights?[i] ?? 1
      total += Double(w) * Double(logSum - z[y])
      if let dLogits {
        let d = dLogits + i * k
        let scale = w * invN
        for c in 0..<k {
          if mask?.allowed[c] ?? true {
            d[c] = scale * (_expf(z[c] - logSum) - (c == y ? 1 : 0))
          } else {
            d[c] = 0
          }
        }
      }
    }
    return Float(total / Double(n))
  }

  /// Array convenience for tests and small callers.
  public static func loss(
    dLogits: inout [Float], logits: [Float], labels: [Int32], weights: [Float]? = nil, mask: ClassMask? = nil
  ) -> Float {
    let n = labels.count
    precondition(n > 0 && logits.count % n == 0, "\(logits.count) logits do not split into \(n) samples.")
    let k = logits.count / n
    if dLogits.count != logits.count { dLogits = [Float](repeating: 0, count: logits.count) }
    return dLogits.withUnsafeMutableBufferPointer { d in
      logits.withUnsafeBufferPointer { z in
        labels.withUnsafeBufferPointer { y in
          if let weights {
            precondition(weights.count == n, "\(weights.count) weights for \(n) samples.")
            return weights.withUnsafeBufferPointer { w in
              loss(
                dLogits: d.baseAddress, logits: z.baseAddress!, labels: y.baseAddress!, weights: w.baseAddress,
                mask: mask, batch: n, classes: k)
            }
          }
          return loss(
            dLogits: d.baseAddress, logits: z.baseAddress!, labels: y.baseAddress!, weights: nil,
            mask: mask, batch: n, classes: k)
        }
      }
    }
  }

  /// The arg-max class of each row of `logits` [N, K] among the allowed classes.
  public static func predictions(
    logits: UnsafePointer<Float>, batch n: Int, classes k: Int, mask: ClassMask? = nil
  ) -> [Int32] {
    (0..<n).map { i in
      let z = logits + i * k
      var best = -1
      for c in 0..<k where (mask?.allowed[c] ?? true) && (best < 0 || z[c] > z[best]) { best = c }
      return Int32(best)
    }
  }

  /// Softmax probabilities of row `i` written into `probabilities` [K].
  public static func softmax(
    _ probabilities: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, classes k: Int
  ) {
    var m = -Float.infinity
    for c in 0..<k { m = max(m, logits[c]) }
    var sum: Float = 0
    for c in 0..<k { let e = _expf(logits[c] - m); probabilities[c] = e; sum += e }
    for c in 0..<k { probabilities[c] /= sum }
  }
}
