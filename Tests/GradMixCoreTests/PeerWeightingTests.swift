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

@Suite("Peer weighting rules and the default GradMix rule")
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

  @Test("gradmix with β = 0, z = 0 and the dot score is the paper's layer-wise rule")
  func paper() {
    var rule = GradMixWeighting.paper(sources: 3, layers: 2)
    let w = rule.solve(s, active: [true, true, true])
    let paper = LayerWeighting.solve(dots: s.dots, active: [true, true, true], rule: .layerWise)
    #expect(w == paper)
    #expect(rule.state.isEmpty)
  }

  @Test("gradmix smoothing: an EMA of the scores, started at 0 for every source")
  func smoothing() {
    var rule = GradMixWeighting(
      sources: 2, layers: 1, score: .dot, smoothing: 0.5, confidence: 0, labelGate: false, mix: .layerwise)
    let a = statistics(dots: [[4], [2]], sourceSquared: [[1], [1]], targetSquared: [1])
    let b = statistics(dots: [[-4], [2]], sourceSquared: [[1], [1]], targetSquared: [1])
    // Step 1: m = (2, 1) -> (2/3, 1/3). Step 2: m = (−1, 1.5) -> (0, 1).
    let w1 = rule.solve(a, active: [true, true])
    #expect(abs(w1.weights[0][0] - Float(2.0 / 3)) < 1e-7)
    let w2 = rule.solve(b, active: [true, true])
    #expect(w2.weights[0][0] == 0 && w2.weights[1][0] == 1)
    // Step 3 with a: m = (1.5, 1.75) -> (6/13, 7/13); usefulness is this step's raw Σ max(d, 0).
    let w3 = rule.solve(a, active: [true, true])
    #expect(abs(w3.weights[0][0] - Float(6.0 / 13)) < 1e-7 && w3.usefulness == 6)
    // A source seen late starts at 0 too: its first score counts (1 − β).
    var late = GradMixWeighting(
      sources: 2, layers: 1, score: .dot, smoothing: 0.9, confidence: 0, labelGate: false, mix: .layerwise)
    _ = late.solve(a, active: [true, false])
    let w = late.solve(a, active: [true, true])
    // m = (0.9 · 0.4 + 0.4, 0.2) = (0.76, 0.2).
    #expect(abs(w.weights[1][0] - Float(0.2 / 0.96)) < 1e-7)
  }

  @Test("gradmix cosine score")
  func cosineScore() {
    // Cosine score: layer 1 cosines are 2/√4 = 1 (source 0) and source 2's 0/0 = 0.
    var cosine = GradMixWeighting(
      sources: 3, layers: 2, score: .cosine, smoothing: 0, confidence: 0, labelGate: false, mix: .layerwise)
    let wc = cosine.solve(s, active: [true, true, true])
    // Layer 0 cosines: 1/1 = 1, 0, 2/2 = 1 -> (1/2, 0, 1/2).
    #expect(wc.weights[0][0] == 0.5 && wc.weights[2][0] == 0.5 && wc.weights[0][1] == 1)
  }

  @Test("gradmix confidence: a score must be z standard errors of its EMA above 0")
  func confidence() {
    // β = 0.5: the EMA variance factor is (1 − β)/(1 + β) = 1/3.
    func rule(_ z: Double) -> GradMixWeighting {
      GradMixWeighting(
        sources: 2, layers: 1, score: .dot, smoothing: 0.5, confidence: z, labelGate: false, mix: .layerwise)
    }
    var bounded = rule(1)
    let a = statistics(dots: [[4], [1]], sourceSquared: [[1], [1]], targetSquared: [1])
    let b = statistics(dots: [[-1], [1]], sourceSquared: [[1], [1]], targetSquared: [1])
    // Step 1: m = (2, 0.5), q = (8, 0.5), standard errors √(var/3) = (2, 0.5)/√3: bounds in the ratio 4 : 1.
    let w1 = bounded.solve(a, active: [true, true])
    #expect(abs(w1.weights[0][0] - 0.8) < 1e-6)
    // Step 2: source 0 has m = 0.5, q = 4.5, standard error √(4.25/3) > 0.5: its bound is negative and
    // source 1 (m = 0.75, q = 0.75, bound 0.5) takes the layer.
    let w2 = bounded.solve(b, active: [true, true])
    #expect(w2.weights[0][0] == 0 && w2.weights[1][0] == 1)
    // Without the bound the same EMA gives (0.5, 0.75) -> (0.4, 0.6).
    var plain = rule(0)
    _ = plain.solve(a, active: [true, true])
    #expect(abs(plain.solve(b, active: [true, true]).weights[0][0] - 0.4) < 1e-6)
    // The state round-trips.
    var copy = rule(1)
    copy.state = bounded.state
    #expect(copy.means == bounded.means && copy.squares == bounded.squares)
    #expect(copy.solve(a, active: [true, true]) == bounded.solve(a, active: [true, true]))
  }

  @Test("gradmix EMA from 0: a source's first score counts (1 − β), so a strict bound waits for evidence")
  func zeroStart() {
    let a = statistics(dots: [[4], [2]], sourceSquared: [[1], [1]], targetSquared: [1])
    var rule = GradMixWeighting(
      sources: 2, layers: 1, score: .dot, smoothing: 0.5, confidence: 1, labelGate: false, mix: .layerwise)
    // Step 1: m = (2, 1), q = (8, 2), variance (4, 1), standard error √(var/3): bounds 2 − 2/√3, 1 − 1/√3.
    let w1 = rule.solve(a, active: [true, true])
    #expect(rule.means == [2, 1] && rule.squares == [8, 2])
    #expect(abs(w1.weights[0][0] - Float(2.0 / 3)) < 1e-6)
    // z = 2: both bounds 2 − 4/√3 < 0 and 1 − 2/√3 < 0: the layer is empty until evidence accumulates.
    var strict = GradMixWeighting(
      sources: 2, layers: 1, score: .dot, smoothing: 0.5, confidence: 2, labelGate: false, mix: .layerwise)
    #expect(strict.solve(a, active: [true, true]).emptyLayers == [0])
  }

  @Test("gradmix label gate: a source whose label-signature bound is ≤ 0 gets 0 in every layer; resumable")
  func labelGate() {
    // Both sources help both layers; source 0's label signature disagrees with the target's.
    var st = statistics(dots: [[3, 1], [1, 1]], sourceSquared: [[1, 1], [1, 1]], targetSquared: [1, 1])
    st.labelScores = [-0.5, 1]
    var gated = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 1, hold: 0,
      labelGate: true, labelConfidence: 1, labelMatch: false, mix: .layerwise)
    #expect(gated.usesLabelScores && gated.needsWholeSourceNorms && !gated.isLayerSeparable)
    // Step 1: m = ½ x, q = ½ x², bound = m − √((q − m²)/3) = x (½ − ½/√3) > 0 for source 1's cosine x = 1.
    let w = gated.solve(st, active: [true, true])
    #expect(w.weights == [[0, 0], [1, 1]])
    #expect(abs(gated.labelMeans[0] + 0.25) < 1e-12 && abs(gated.labelMeans[1] - 0.5) < 1e-12)
    // Without the gate source 0 takes most of layer 0.
    var open = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 1, hold: 0,
      labelGate: false, mix: .layerwise)
    #expect(open.solve(st, active: [true, true]).weights[0][0] > 0.5)
    // Once source 0's labels agree for long enough, the gate opens; the state resumes it exactly.
    var agreeing = st
    agreeing.labelScores = [1, 1]
    var resumed = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 1, hold: 0,
      labelGate: true, labelConfidence: 1, labelMatch: false, mix: .layerwise)
    resumed.state = gated.state
    #expect(resumed.state["gradmix.label_means"] == gated.labelMeans)
    var last = w
    for _ in 0..<6 {
      last = gated.solve(agreeing, active: [true, true])
      #expect(resumed.solve(agreeing, active: [true, true]) == last)
    }
    #expect(last.weights[0][0] > 0.5)
    // A source with a score of 0 (no label signature) stays closed, even with z = 0.
    var silent = st
    silent.labelScores = [0, 1]
    var fresh = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, hold: 0,
      labelGate: true, labelConfidence: 0, labelMatch: false, mix: .layerwise)
    #expect(fresh.solve(silent, active: [true, true]).weights[0] == [0, 0])
  }

  @Test(
    "gradmix class-match veto: a source whose smoothed class match is ≤ 0 is closed even where its label cosine passes; resumable"
  )
  func labelMatchVeto() {
    // Both sources pass the cosine gate; source 0's classes match the target's no better than chance.
    var st = statistics(dots: [[3, 1], [1, 1]], sourceSquared: [[1, 1], [1, 1]], targetSquared: [1, 1])
    st.labelScores = [0.6, 0.8]
    st.labelMatches = [-0.1, 0.6]
    func rule(_ veto: Bool) -> GradMixWeighting {
      GradMixWeighting(
        sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0,
        targetIndex: 1, hold: 0, labelGate: true, labelConfidence: 0, labelMatch: veto, mix: .layerwise)
    }
    var cosineOnly = rule(false), vetoed = rule(true)
    #expect(cosineOnly.solve(st, active: [true, true]).weights[0][0] > 0.5)
    #expect(vetoed.solve(st, active: [true, true]).weights == [[0, 0], [1, 1]])
    #expect(vetoed.matchMeans == [-0.05, 0.3])
    #expect(
      vetoed.state["gradmix.label_matches"] == vetoed.matchMeans && cosineOnly.state["gradmix.label_matches"] == nil)
    // The veto asks for no confidence bound: a match mean just above 0 opens the source; resumed exactly.
    var better = st
    better.labelMatches = [0.2, 0.6]
    var resumed = rule(true)
    resumed.state = vetoed.state
    let next = vetoed.solve(better, active: [true, true])  // m = −0.025 + 0.1 = 0.075 > 0
    #expect(resumed.solve(better, active: [true, true]) == next)
    #expect(next.weights[0][0] > 0.5)
    // The veto is a part of the label gate: without the gate it is off.
    #expect(!GradMixWeighting(sources: 2, layers: 2, labelGate: false, labelMatch: true, mix: .layerwise).labelMatch)
  }

  @Test("gradmix mix pcgrad: equal shares among the sources the gates leave open, conflicting layers projected")
  func gatedPCGrad() {
    // Source 1 is closed by the label gate; source 0 conflicts with the target in layer 1 (d = −2, ‖g_T,1‖² = 4).
    var st = statistics(
      dots: [[1, -2], [3, 3], [2, 1]], sourceSquared: [[1, 1], [1, 1], [1, 1]], targetSquared: [1, 4])
    st.labelScores = [0.5, -0.5, 0.8]
    func rule(hold: Int) -> GradMixWeighting {
      GradMixWeighting(
        sources: 3, layers: 2, score: .dot, smoothing: 0.5, confidence: 0,
        targetIndex: 2, hold: hold, labelGate: true, labelConfidence: 0, labelMatch: false, mix: .pcgrad)
    }
    var gated = rule(hold: 0)
    let w = gated.solve(st, active: [true, true, true])
    #expect(w.weights == [[0.5, 0.5], [0, 0], [0.5, 0.5]])
    // c_1 = −0.5 · (−2) / 4: source 0's layer 1 loses its component along g_T,1.
    #expect(w.targetCoefficients == [0, 0.25] && w.emptyLayers.isEmpty)
    // The hold mixes the target set alone, with no projection.
    var held = rule(hold: 1)
    let h = held.solve(st, active: [true, true, true])
    #expect(h.weights == [[0, 0], [0, 0], [1, 1]] && h.targetCoefficients == [0, 0])
  }

  @Test("gradmix hold: the first H steps mix the target set alone while the scores accumulate; resumable")
  func hold() {
    let st = statistics(dots: [[1, 3], [1, 1]], sourceSquared: [[1, 1], [1, 1]], targetSquared: [1, 1])
    var held = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, targetIndex: 1, hold: 2,
      labelGate: false, mix: .layerwise)
    var plain = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, targetIndex: 1, hold: 0,
      labelGate: false, mix: .layerwise)
    for _ in 0..<2 {
      #expect(held.solve(st, active: [true, true]).weights == [[0, 0], [1, 1]])
      _ = plain.solve(st, active: [true, true])
    }
    var resumed = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, targetIndex: 1, hold: 2,
      labelGate: false, mix: .layerwise)
    resumed.state = held.state
    let third = plain.solve(st, active: [true, true])
    #expect(third.weights[0][1] == 0.75)  // the scores went on accumulating during the hold
    #expect(held.solve(st, active: [true, true]) == third)
    #expect(resumed.solve(st, active: [true, true]) == third)
    // A checkpoint written before the hold existed carries no step count: it resumes past the hold.
    var old = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, targetIndex: 1, hold: 2,
      labelGate: false, mix: .layerwise)
    old.state = held.state.filter { $0.key != "gradmix.solved" }
    #expect(old.solve(st, active: [true, true]).weights[0][1] > 0)
    // Without the target set among the sources there is nothing to hold to.
    var noTarget = GradMixWeighting(
      sources: 2, layers: 2, score: .dot, smoothing: 0.5, confidence: 0, labelGate: false,
      mix: .layerwise)
    #expect(noTarget.solve(st, active: [true, true]).weights[0][1] > 0)
  }

  @Test(
    "adaptive learning rate: off for the rule methods unless enabled, on for gradmix-paper")
  func adaptiveLearningRateSwitch() throws {
    func alr(_ m: Method, _ enabled: Bool?) -> Bool {
      m.settings(steps: 10, targetAsSource: true, hasPseudoLabels: true, finetuneFraction: 0.5, adaptiveLR: enabled)
        .adaptiveLearningRate
    }
    for m in [Method.gradmix, .gradmixNoPL, .l2rw, .cosine, .tawt, .pcgradTarget] {
      #expect(!alr(m, nil) && alr(m, true) && !alr(m, false), "\(m)")
    }
    #expect(alr(.gradmixPaper, nil) && !alr(.gradmixPaper, false))
    for m in [Method.uniform, .targetOnly, .sourceOnly, .finetune] { #expect(!alr(m, true), "\(m)") }
    let c = try TrainConfig.parse(yaml: TrainConfigTests.valid + "\nadaptive_lr: {enabled: true}\n", file: "c.yaml")
    #expect(c.adaptiveLR?.enabled == true)
  }

  @Test("methods build their rules: gradmix with the config's settings, gradmix-paper the paper's")
  func methodRules() throws {
    let yaml =
      TrainConfigTests.valid
      + "\nweighting: {smoothing: 0.5, score: dot, confidence: 2, tawt_rate: 0.3, hold: 3, label_gate: true, label_match: false, label_confidence: 1.5, mix: layerwise}\n"
    let config = try TrainConfig.parse(yaml: yaml, file: "c.yaml")
    let g = Method.gradmix.makeRule(sources: 3, layers: 2, config: config) as? GradMixWeighting
    #expect(g?.smoothing == 0.5 && g?.score == .dot && g?.confidence == 2)
    #expect(g?.hold == 3 && g?.labelGate == true)
    #expect(g?.labelMatch == false && g?.labelConfidence == 1.5 && g?.mix == .layerwise)
    let d = try TrainConfig.parse(yaml: TrainConfigTests.valid, file: "c.yaml")
    let defaults = Method.gradmix.makeRule(sources: 3, layers: 2, config: d) as? GradMixWeighting
    #expect(
      defaults?.smoothing == GradMixWeighting.Defaults.smoothing && defaults?.score == GradMixWeighting.Defaults.score)
    #expect(defaults?.confidence == 1)
    #expect(
      defaults?.hold == 10 && defaults?.targetIndex == nil && defaults?.labelGate == GradMixWeighting.Defaults.labelGate
    )
    #expect(defaults?.labelMatch == GradMixWeighting.Defaults.labelMatch)
    // The default mix since the tenth screen: the gates in front of equal shares and the projection.
    #expect(defaults?.mix == .pcgrad && defaults?.labelConfidence == 2.5)
    let held = Method.gradmix.makeRule(sources: 3, layers: 2, config: d, targetIndex: 2) as? GradMixWeighting
    #expect(held?.targetIndex == 2)
    #expect((Method.tawt.makeRule(sources: 3, layers: 2, config: config) as? TAWTWeighting)?.learningRate == 0.3)
    var paper = Method.gradmixPaper.makeRule(sources: 3, layers: 2, config: d)
    #expect(
      paper.solve(s, active: [true, true, true])
        == LayerWeighting.solve(dots: s.dots, active: [true, true, true], rule: .layerWise))
    #expect(Method.cosine.makeRule(sources: 3, layers: 2, config: d) is CosineWeighting)
    #expect(Method.pcgradTarget.makeRule(sources: 3, layers: 2, config: d) is PCGradTargetWeighting)
  }
}
