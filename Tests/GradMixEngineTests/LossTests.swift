import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("Softmax cross-entropy")
struct LossTests {
  /// Central differences of the loss w.r.t. every logit, with sample weights
  /// and a class mask (masked-out logits must have zero gradient and must not
  /// change the loss). Tolerance as for the layers (see LayerGradientTests).
  @Test("gradient matches finite differences", arguments: [(false, false), (true, false), (false, true), (true, true)])
  func finiteDifferences(_ c: (Bool, Bool)) {
    let (useWeights, useMask) = c
    var rng = RNG(seed: 31)
    let n = 5, k = 7
    let logits = (0..<(n * k)).map { _ in rng.normal() * 2 }
    let mask: ClassMask? = useMask ? ClassMask(classCount: k, allowing: [1, 2, 4, 6]) : nil
    let allowed = useMask ? [1, 2, 4, 6] : Array(0..<k)
    let labels = (0..<n).map { _ in Int32(allowed[rng.int(below: allowed.count)]) }
    let weights: [Float]? = useWeights ? (0..<n).map { _ in rng.uniform() * 2 } : nil
    var d: [Float] = []
    _ = SoftmaxCrossEntropy.loss(dLogits: &d, logits: logits, labels: labels, weights: weights, mask: mask)
    var scratch: [Float] = []
    let cmp = compare("softmax CE", Array(0..<(n * k)), analytic: d.map(Double.init), epsilon: 1e-2) { j, eps in
      var p = logits, m = logits
      p[j] += eps; m[j] -= eps
      let lp = SoftmaxCrossEntropy.loss(dLogits: &scratch, logits: p, labels: labels, weights: weights, mask: mask)
      let lm = SoftmaxCrossEntropy.loss(dLogits: &scratch, logits: m, labels: labels, weights: weights, mask: mask)
      return (Double(lp) - Double(lm)) / (2 * Double(eps))
    }
    #expect(cmp.maxRelativeError < 1e-2, "\(cmp)")
  }

  @Test("a weight of zero removes a sample; weights scale linearly")
  func weights() {
    let logits: [Float] = [1, 2, 0.5, -1, 0, 3]
    let labels: [Int32] = [0, 2]
    var d: [Float] = []
    let both = SoftmaxCrossEntropy.loss(dLogits: &d, logits: logits, labels: labels, weights: [1, 1])
    let first = SoftmaxCrossEntropy.loss(dLogits: &d, logits: logits, labels: labels, weights: [1, 0])
    #expect(d[3] == 0 && d[4] == 0 && d[5] == 0)
    let second = SoftmaxCrossEntropy.loss(dLogits: &d, logits: logits, labels: labels, weights: [0, 1])
    #expect(abs(both - (first + second)) < 1e-6)
    let doubled = SoftmaxCrossEntropy.loss(dLogits: &d, logits: logits, labels: labels, weights: [2, 2])
    #expect(abs(doubled - 2 * both) < 1e-5)
  }

  @Test("masked-out logits do not change the loss")
  func maskIgnoresOtherLogits() {
    let mask = ClassMask(classCount: 4, allowing: [0, 1])
    var d: [Float] = []
    let a = SoftmaxCrossEntropy.loss(dLogits: &d, logits: [1, 2, 50, -50], labels: [1], mask: mask)
    let b = SoftmaxCrossEntropy.loss(dLogits: &d, logits: [1, 2, -3, 7], labels: [1], mask: mask)
    #expect(a == b)
    let expected = -(2 - Float(log(exp(1.0) + exp(2.0))))
    #expect(abs(a - expected) < 1e-6)
  }

  @Test("predictions respect the mask")
  func predictions() {
    let logits: [Float] = [0, 5, 1, 9, 0, 2]
    let p = SoftmaxCrossEntropy.predictions(logits: logits, batch: 2, classes: 3)
    #expect(p == [1, 0])
    let masked = SoftmaxCrossEntropy.predictions(
      logits: logits, batch: 2, classes: 3,
      mask: ClassMask(classCount: 3, allowing: [0, 2]))
    #expect(masked == [2, 0])
  }
}
