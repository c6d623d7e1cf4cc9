import GradMixEngine
import Testing

@testable import GradMixCore

@Suite("Label signatures (the label gate's statistic) and the fused norm-and-dot pass")
struct LabelSignatureTests {
  /// Λ of a batch by the definition, (1/N) Σ_n (y_n − ȳ) h_nᵀ, in double precision.
  static func reference(_ h: [[Float]], _ y: [Int32], classes: Int) -> [Double] {
    let n = Double(h.count), d = h[0].count
    var yBar = [Double](repeating: 0, count: classes)
    for label in y { yBar[Int(label)] += 1 / n }
    var out = [Double](repeating: 0, count: classes * d)
    for (row, label) in zip(h, y) {
      for c in 0..<classes {
        let coefficient = (Int(label) == c ? 1 : 0) - yBar[c]
        for j in 0..<d { out[c * d + j] += coefficient * Double(row[j]) / n }
      }
    }
    return out
  }

  static func signature(_ h: [[Float]], _ y: [Int32], classes: Int, rows: Range<Int>? = nil) -> LabelSignature {
    let s = LabelSignature(classes: classes, features: h[0].count)
    let r = rows ?? 0..<h.count
    let flat = r.flatMap { h[$0] }, labels = r.map { y[$0] }
    s.collect(features: flat, labels: labels, rows: r.count, batchSize: h.count)
    return s
  }

  @Test("Λ = S − ȳh̄ᵀ equals (1/N) Σ (y_n − ȳ) h_nᵀ on a hand-made batch")
  func definition() {
    // 3 classes, 2 features, 4 samples: class 0 twice, class 2 twice, class 1 absent.
    let h: [[Float]] = [[1, 0], [3, 2], [0, 4], [2, 2]]
    let y: [Int32] = [0, 0, 2, 2]
    let s = Self.signature(h, y, classes: 3)
    s.finish()
    // h̄ = (1.5, 2); row 0 = ½ (mean(h | 0) − h̄) = ½ ((2, 1) − (1.5, 2)) = (0.25, −0.5); row 1 = 0; row 2 = −row 0.
    let expected: [Float] = [0.25, -0.5, 0, 0, -0.25, 0.5]
    #expect(Array(s.signature) == expected)
    #expect(zip(s.signature, Self.reference(h, y, classes: 3)).allSatisfy { abs(Double($0) - $1) < 1e-6 })
  }

  @Test("the shards of a split batch add up to the whole batch's Λ")
  func shardsAddUp() {
    var rng = RNG(seed: 7)
    let h = (0..<10).map { _ in (0..<5).map { _ in rng.uniform() } }
    let y = (0..<10).map { _ in Int32(rng.int(below: 4)) }
    let whole = Self.signature(h, y, classes: 4)
    let a = Self.signature(h, y, classes: 4, rows: 0..<6), b = Self.signature(h, y, classes: 4, rows: 6..<10)
    for i in a.storage.indices { a.storage[i] += b.storage[i] }
    whole.finish()
    a.finish()
    #expect(zip(whole.signature, a.signature).allSatisfy { abs($0 - $1) < 1e-6 })
    #expect(zip(whole.signature, Self.reference(h, y, classes: 4)).allSatisfy { abs(Double($0) - $1) < 1e-6 })
  }

  @Test("same labels agree (cosine 1), permuted labels disagree, and labels outside the classes are skipped")
  func agreement() {
    // Two well-separated classes of features.
    let h: [[Float]] = [[4, 0, 1], [5, 1, 0], [0, 4, 1], [1, 5, 0]]
    let y: [Int32] = [0, 0, 1, 1]
    let target = Self.signature(h, y, classes: 2)
    target.finish()
    let same = Self.signature(h, y, classes: 2)
    same.finish()
    let swapped = Self.signature(h, [1, 1, 0, 0], classes: 2)
    swapped.finish()
    target.smooth()  // Λ̄_T = (1 − β) Λ_T: the cosine does not see the scale
    let (n, d) = same.squaredNormAndDot(smoothed: target)
    #expect(abs(d / (n * target.averageSquaredNorm).squareRoot() - 1) < 1e-6)
    let (ns, ds) = swapped.squaredNormAndDot(smoothed: target)
    #expect(ns > 0 && abs(ds / (ns * target.averageSquaredNorm).squareRoot() + 1) < 1e-6)
    // A label outside 0..<C adds to h̄ only.
    let outside = Self.signature(h, [0, 0, 7, 7], classes: 2)
    outside.finish()
    #expect(outside.signature[3..<6].allSatisfy { $0 == 0 })
  }

  @Test(
    "the class cosines: true labels put each row on its own class, a look-alike swap on the other; partial batches, target classes, NaN"
  )
  func classCosines() {
    // Three classes; 1 and 2 look alike, 0 stands apart (centred rows: r(1, 2) ≈ 0.80).
    let h: [[Float]] = [[5, 0, 0], [0, 4, 1], [0, 3, 2]]
    func finished(_ y: [Int32]) -> LabelSignature {
      let s = Self.signature(h, y, classes: 3)
      s.finish()
      return s
    }
    func cosines(_ s: LabelSignature, _ t: LabelSignature) -> (ok: Bool, r: [Double], present: [Double]) {
      var r = [Double](repeating: 0, count: 9), present = [Double](repeating: 0, count: 3)
      let ok = r.withUnsafeMutableBufferPointer { rb in
        present.withUnsafeMutableBufferPointer { s.classCosines(against: t, into: rb, present: $0) }
      }
      return (ok, r, present)
    }
    let target = finished([0, 1, 2])
    target.smooth()
    #expect(target.targetClasses() == [1, 1, 1])
    // The same labels: every row is its own class's (cosine 1, the EMA's scale drops out), below 1 elsewhere.
    let same = cosines(finished([0, 1, 2]), target)
    #expect(same.ok && same.present == [1, 1, 1])
    for c in 0..<3 {
      #expect(abs(same.r[c * 3 + c] - 1) < 1e-6)
      for t in 0..<3 where t != c { #expect(same.r[c * 3 + t] < 0.81) }
    }
    // 1 and 2 swapped: row 1 is the target's row 2 and only ≈ 0.80 like its own.
    let swapped = cosines(finished([0, 2, 1]), target)
    #expect(abs(swapped.r[1 * 3 + 2] - 1) < 1e-6 && swapped.r[1 * 3 + 1] < 0.81 && swapped.r[1 * 3 + 1] > 0.7)
    #expect(abs(swapped.r[0] - 1) < 1e-6)
    // A batch with classes 0 and 1 only: row 2 is not measured and stays 0.
    let partial = Self.signature(Array(h[0..<2]), [0, 1], classes: 3)
    partial.finish()
    let p = cosines(partial, target)
    #expect(p.present == [1, 1, 0] && p.r[6..<9].allSatisfy { $0 == 0 } && p.r[0] > 0.5)
    // A target with one class has a zero Λ̄ (each row is its class's mean less the batch mean): no target class.
    let single = finished([0, 0, 0])
    single.smooth()
    #expect(single.targetClasses() == [0, 0, 0])
    let none = cosines(finished([0, 1, 2]), single)
    #expect(none.ok && none.present == [1, 1, 1] && none.r.allSatisfy { $0 == 0 })
    // A non-finite Λ writes nothing.
    let bad = finished([0, 1, 2])
    bad.storage[0] = .nan
    let b = cosines(bad, target)
    #expect(!b.ok && b.present == [0, 0, 0] && b.r.allSatisfy { $0 == 0 })
  }

  @Test("the target's Λ̄ is an EMA from 0 of the finished signatures")
  func smoothing() {
    let h: [[Float]] = [[1, 0], [0, 1]]
    let a = Self.signature(h, [0, 1], classes: 2)
    a.finish()
    let first = Array(a.signature)
    a.smooth()
    let b = LabelSignature.targetSmoothing
    #expect(a.average == first.map { (1 - b) * $0 })
    let c = Self.signature(h, [1, 0], classes: 2)
    c.finish()
    a.storage = c.storage
    a.smooth()
    #expect(
      zip(a.average, zip(first, c.signature)).allSatisfy { v, p in abs(v - (b * (1 - b) * p.0 + (1 - b) * p.1)) < 1e-7 }
    )
  }

  @Test(
    "squaredNormAndDot and squaredNorm match the exact double sums to 1e-6 (and cblas_dsdot) for every tail length",
    arguments: [0, 1, 15, 16, 63, 64, 65, 81_066])
  func fusedPass(_ n: Int) {
    var rng = RNG(seed: UInt64(n) + 1)
    let g = (0..<n).map { _ in rng.uniform() * 2 - 1 }, t = (0..<n).map { _ in rng.uniform() * 2 - 1 }
    g.withUnsafeBufferPointer { gp in
      t.withUnsafeBufferPointer { tp in
        let (norm, dot) = BLAS.squaredNormAndDot(gp, tp)
        // The exact products summed in order, in double precision; Σ|g_i t_i| scales the dot's error.
        var refNorm = 0.0, refDot = 0.0, absDot = 0.0
        for i in 0..<n {
          refNorm += Double(g[i]) * Double(g[i])
          refDot += Double(g[i]) * Double(t[i])
          absDot += abs(Double(g[i]) * Double(t[i]))
        }
        #expect(abs(norm - refNorm) <= 1e-6 * refNorm)
        #expect(abs(dot - refDot) <= 1e-6 * absDot)
        #expect(BLAS.squaredNorm(gp) == norm)
        // cblas_dsdot, which it replaces in the step, agrees to its own (lower) precision.
        #expect(abs(BLAS.dot(gp, gp) - refNorm) <= 1e-6 * max(refNorm, 1))
        #expect(abs(BLAS.dot(gp, tp) - refDot) <= 1e-6 * max(refNorm, 1))
      }
    }
    // A NaN anywhere makes both non-finite (how a non-finite source is detected).
    if n > 0 {
      var bad = g
      bad[n - 1] = .nan
      bad.withUnsafeBufferPointer { bp in
        t.withUnsafeBufferPointer { tp in #expect(!BLAS.squaredNormAndDot(bp, tp).squaredNorm.isFinite) }
      }
    }
  }
}
