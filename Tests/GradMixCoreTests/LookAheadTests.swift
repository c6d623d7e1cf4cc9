import GradMixCore
import GradMixEngine
import GradMixTestSupport
import Testing

/// The heart of GradMix, checked numerically: on a small CNN, the derivative
/// of the target loss after the mixed look-ahead step θ' = θ − α Σ w ⊙ g with
/// respect to each w_{k,l}, at w = 0, is −α ⟨∇_{θ_l} L_T(θ), g_{k,l}⟩.
@Suite("Look-ahead meta-gradient")
struct LookAheadTests {
  @Test("finite differences of L_T(θ − α w_{k,l} g_{k,l}) match −α · layer dot product, for every (k, l)")
  func metaGradient() throws {
    let model = try Sequential(spec: "conv4k3p1-relu-pool2-conv6k3-relu-fc8-relu-fc5", inputShape: Shape([3, 10, 10]))
    let mixer = GradientMixer(layout: model.layout)
    let params = model.makeParameters(seed: 21)
    let batch = 6
    let ws = model.makeWorkspace(maxBatch: batch)
    var rng = RNG(seed: 22)

    func batchData(_ seed: UInt64) -> ([Float], [Int32]) {
      var r = RNG(seed: seed)
      return ((0..<(batch * 300)).map { _ in r.normal() }, (0..<batch).map { _ in Int32(r.int(below: 5)) })
    }
    /// Loss on (x, y) at parameters p, and its gradient if asked.
    func loss(_ p: FlatBuffer, _ data: ([Float], [Int32]), gradient: FlatBuffer? = nil, mask: ClassMask? = nil)
      -> Double
    {
      for i in 0..<data.0.count { ws.input[i] = data.0[i] }
      let logits = model.forward(ws, batch: batch, parameters: p, mode: .eval, rng: &rng)
      let l = SoftmaxCrossEntropy.loss(
        dLogits: ws.dOutput.pointer, logits: logits.baseAddress!, labels: data.1,
        weights: nil, mask: mask, batch: batch, classes: 5)
      if let gradient {
        gradient.zero()
        model.backward(ws, batch: batch, parameters: p, gradients: gradient)
      }
      return Double(l)
    }

    let target = batchData(100)
    let gT = model.makeBuffer()
    _ = loss(params, target, gradient: gT)
    // Two sources: one on all classes, one that only knows classes 0-2 (masked softmax).
    let sources: [(([Float], [Int32]), ClassMask?)] = [
      (batchData(101), nil),
      (
        {
          var d = batchData(102); d.1 = d.1.map { $0 % 3 }; return d
        }(), ClassMask(classCount: 5, allowing: [0, 1, 2])
      ),
    ]
    let alpha = 0.5
    for (k, source) in sources.enumerated() {
      let gk = model.makeBuffer()
      _ = loss(params, source.0, gradient: gk, mask: source.1)
      let dots = mixer.layerDots(gT, gk)
      for l in model.layout.layerIndices {
        let analytic = -alpha * dots[l]
        // L_T at θ − α w g_{k,l} (only layer l moved), central difference in w.
        func lookAhead(_ w: Float) -> Double {
          let p = params.clone()
          var weights = [Float](repeating: 0, count: model.layout.layerCount)
          weights[l] = -Float(alpha) * w
          mixer.accumulate(gk, weights: weights, into: p)
          return loss(p, target)
        }
        let cmp = compare(
          "source \(k) layer \(model.layout.layerNames[l])", [0], analytic: [analytic],
          epsilon: 1e-2, floor: 1e-3
        ) { _, eps in
          (lookAhead(eps) - lookAhead(-eps)) / (2 * Double(eps))
        }
        #expect(cmp.maxRelativeError < 2e-2, "\(cmp)")
        #expect(abs(analytic) > 1e-6, "degenerate case: the dot product is ~0")
      }
    }
  }
}
