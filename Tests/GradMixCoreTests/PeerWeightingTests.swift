import Foundation
import GradMixCore
import GradMixTestSupport
import Testing

/// Statistics of one step from per-(source, layer) dots and squared norms.
private func statistics(dots: [[Double]], sourceSquared: [[Double]], targetSquared: [Double]) -> StepStatistics {
  var s = StepStatistics(sources: dots.count, layers: targetSquared.count)
  s.dots = dots
  s.sourceSquaredNorms = sourceSquared
  s.targetSquaredNorms = targetSquared
  for k in 0..<dots.count { s.present[k] = 1; s.finite[k] = 1 }
  return s
}

@Suite("Peer weighting rules and the default gated PCGrad rule")
struct PeerWeightingTests {
  // Two layers; target gradient g_T = ((1, 0), (0, 2)) so ‖g_T,l‖² = (1, 4), ‖g_T‖² = 5.
  // Source 0: ((1, 0), (0, 1)): dots (1, 2), norms² (1, 1), cos = 3 / √(2·5) = 0.9487.
  // Source 1: ((0, 1), (0, -1)): dots (0, -2), norms² (1, 1), cos = -2 / √10 = -0.6325.
  // Source 2: ((2, 0), (0, 0)): dots (2, 0), norms² (4, 0), cos = 2 / √(4·5) = 0.4472.
  let s = statistics(
    dots: [[1, 2], [0, -2], [2, 0]], sourceSquared: [[1, 1], [1, 1], [4, 0]], targetSquared: [1, 4])

  @Test("cosine: whole-model cosines, gated at 0, normalised, the same in every layer")
  func cosine() {
    let c = CosineWeighting.cosines(s)
    #expect(abs(c[0] - 3 / 10.0.squareRoot()) < 1e-12 && abs(c[1] + 2 / 10.0.squareRoot()) < 1e-12)
    #expect(abs(c[2] - 2 / 20.0.squareRoot()) < 1e-12)
    var rule = CosineWeighting()
    let w = rule.solve(s, active: [true, true, true])
    let z = c[0] + c[2]
    #expect(abs(Double(w.weights[0][0]) - c[0] / z) < 1e-6 && w.weights[0][0] == w.weights[0][1])
    #expect(w.weights[1] == [0, 0])
    #expect(abs(Double(w.weights[2][1]) - c[2] / z) < 1e-6)
    #expect(w.usefulness == 5)  // source-wise: max(3, 0) + max(-2, 0) + max(2, 0)
    // An inactive source leaves the normalisation; no positive cosine: every layer empty.
    let only = rule.solve(s, active: [false, true, true])
    #expect(only.weights[2] == [1, 1] && only.weights[0] == [0, 0])
    #expect(rule.solve(s, active: [false, true, false]).emptyLayers == [0, 1])
  }

  @Test("tawt: uniform at first, then exponentiated-gradient steps on the cosines")
  func tawt() {
    var rule = TAWTWeighting(sources: 3, learningRate: 0.5)
    let c = CosineWeighting.cosines(s)
    // After one step the logits are η·cos: w ∝ exp(η cos_k).
    let w1 = rule.solve(s, active: [true, true, true])
    let e = c.map { exp(0.5 * $0) }, z = e.reduce(0, +)
    for k in 0..<3 { #expect(abs(Double(w1.weights[k][0]) - e[k] / z) < 1e-6 && w1.weights[k][0] == w1.weights[k][1]) }
    // Not gated: the conflicting source keeps a (smaller) weight.
    #expect(w1.weights[1][0] > 0 && w1.weights[1][0] < w1.weights[2][0])
    // After a second identical step: w ∝ exp(2η cos_k) (mirror descent accumulates).
    let w2 = rule.solve(s, active: [true, true, true])
    let e2 = c.map { exp(1.0 * $0) }, z2 = e2.reduce(0, +)
    for k in 0..<3 { #expect(abs(Double(w2.weights[k][1]) - e2[k] / z2) < 1e-6) }
    // The state round-trips, so a resumed run continues exactly.
    var copy = TAWTWeighting(sources: 3, learningRate: 0.5)
    copy.state = rule.state
    #expect(copy.logits == rule.logits)
    // An inactive source is not updated and gets weight 0.
    let before = rule.logits[1]
    let w3 = rule.solve(s, active: [true, false, true])
    #expect(rule.logits[1] == before && w3.weights[1] == [0, 0])
    #expect(abs(Double(w3.weights[0][0] + w3.weights[2][0]) - 1) < 1e-6)
  }

  @Test("pcgrad-target: equal weights, and a conflicting layer projected onto the target's normal plane")
  func pcgrad() {
    var rule = PCGradTargetWeighting()
    let w = rule.solve(s, active: [true, true, true])
    for k in 0..<3 { #expect(w.weights[k] == [Float(1.0 / 3), Float(1.0 / 3)]) }
    // Only source 1 conflicts, in layer 1: c_1 = -(1/3)(-2)/4 = 1/6; layer 0 has no conflict.
    let c = w.targetCoefficients ?? []
    #expect(c.count == 2 && c[0] == 0 && abs(c[1] - Float(1.0 / 6)) < 1e-7)
    // The projected mix is orthogonal-or-better: ⟨g_T,1, mix_1⟩ = (1/3)(2 - 2 + 0) + c_1 ‖g_T,1‖²
    //   = 0 + 4/6 = (1/3)·2, i.e. source 1's conflicting part is removed exactly.
    let mixedDot = (1.0 / 3) * (2 - 2 + 0) + Double(c[1]) * 4
    #expect(abs(mixedDot - (1.0 / 3) * 2) < 1e-6)
    #expect(w.usefulness == 5)  // Σ_l Σ_k max(d, 0) = 1 + 2 + 2
  }

  @Test(
    "adaptive learning rate: off for the rule methods unless enabled, on for gradmix (the paper's)")
  func adaptiveLearningRateSwitch() throws {
    func alr(_ m: Method, _ enabled: Bool?) -> Bool {
      m.settings(steps: 10, targetAsSource: true, hasPseudoLabels: true, finetuneFraction: 0.5, adaptiveLR: enabled)
        .adaptiveLearningRate
    }
    for m in [Method.gatedPCGrad, .gatedPCGradNoPL, .l2rw, .cosine, .tawt, .pcgradTarget] {
      #expect(!alr(m, nil) && alr(m, true) && !alr(m, false), "\(m)")
    }
    #expect(alr(.gradmix, nil) && !alr(.gradmix, false))
    for m in [Method.uniform, .targetOnly, .sourceOnly, .finetune] { #expect(!alr(m, true), "\(m)") }
    let c = try TrainConfig.parse(yaml: TrainConfigTests.valid + "\nadaptive_lr: {enabled: true}\n", file: "c.yaml")
    #expect(c.adaptiveLR?.enabled == true)
  }

  @Test("methods build their rules: gated-pcgrad with the config's settings, gradmix the paper's")
  func methodRules() throws {
    let yaml =
      TrainConfigTests.valid
      + "\nweighting: {smoothing: 0.5, tawt_rate: 0.3, hold: 3, label_gate: true, label_match: false, label_confidence: 1.5}\n"
    let config = try TrainConfig.parse(yaml: yaml, file: "c.yaml")
    let g = Method.gatedPCGrad.makeRule(sources: 3, layers: 2, config: config) as? GatedPCGradWeighting
    #expect(g?.smoothing == 0.5 && g?.hold == 3 && g?.labelGate == true)
    #expect(g?.labelMatch == false && g?.labelConfidence == 1.5)
    let d = try TrainConfig.parse(yaml: TrainConfigTests.valid, file: "c.yaml")
    let defaults = Method.gatedPCGrad.makeRule(sources: 3, layers: 2, config: d) as? GatedPCGradWeighting
    let e = GatedPCGradWeighting.Defaults.self
    #expect(defaults?.smoothing == e.smoothing && defaults?.hold == e.hold && defaults?.targetIndex == nil)
    #expect(defaults?.labelGate == e.labelGate && defaults?.labelMatch == e.labelMatch)
    #expect(defaults?.labelConfidence == e.labelConfidence)
    let held = Method.gatedPCGrad.makeRule(sources: 3, layers: 2, config: d, targetIndex: 2) as? GatedPCGradWeighting
    #expect(held?.targetIndex == 2)
    #expect((Method.tawt.makeRule(sources: 3, layers: 2, config: config) as? TAWTWeighting)?.learningRate == 0.3)
    var paper = Method.gradmix.makeRule(sources: 3, layers: 2, config: d)
    #expect(
      paper.solve(s, active: [true, true, true])
        == LayerWeighting.solve(dots: s.dots, active: [true, true, true], rule: .layerWise))
    #expect(Method.cosine.makeRule(sources: 3, layers: 2, config: d) is CosineWeighting)
    #expect(Method.pcgradTarget.makeRule(sources: 3, layers: 2, config: d) is PCGradTargetWeighting)
  }
}
