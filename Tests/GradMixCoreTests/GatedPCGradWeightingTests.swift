import Foundation
import Testing

@testable import GradMixCore

/// One step's statistics: per-(source, layer) dot products, every squared norm 1 but the target's
/// (`targetSquared`), and per-source label scores and class matches.
private func step(
  _ dots: [[Double]], targetSquared: [Double]? = nil, label: [Double], match: [Double]? = nil
) -> StepStatistics {
  var s = StepStatistics(sources: dots.count, layers: dots[0].count)
  s.dots = dots
  s.sourceSquaredNorms = dots.map { $0.map { _ in 1 } }
  s.targetSquaredNorms = targetSquared ?? dots[0].map { _ in 1 }
  for k in 0..<dots.count { s.present[k] = 1; s.finite[k] = 1 }
  s.labelScores = label
  s.labelMatches = match ?? label.map { _ in 0.5 }
  return s
}

@Suite("gated-pcgrad, the default rule: a label gate in front of equal shares with per-layer projection")
struct GatedPCGradWeightingTests {
  @Test(
    "a source the label gate closes gets 0 in every layer; the open ones equal shares, conflicting layers projected")
  func gateAndShares() {
    // Source 1's labels disagree with the target's; source 0 conflicts with the target in layer 1
    // (d = −2, ‖g_T,1‖² = 4). The labelled target set is source 2.
    let st = step([[1, -2], [3, 3], [2, 1]], targetSquared: [1, 4], label: [0.5, -0.5, 0.8])
    var rule = GatedPCGradWeighting(
      sources: 3, smoothing: 0.5, targetIndex: 2, hold: 0, labelConfidence: 0, labelMatch: false)
    let w = rule.solve(st, active: [true, true, true])
    #expect(w.weights == [[0.5, 0.5], [0, 0], [0.5, 0.5]])
    // c_1 = −½ · (−2) / 4: source 0's layer 1 loses its component along g_T,1; layer 0 has no conflict.
    #expect(w.targetCoefficients == [0, 0.25] && w.emptyLayers.isEmpty)
    // Usefulness is the paper's Σ_k Σ_l max(d, 0) over every active source, closed ones included.
    #expect(w.usefulness == 1 + 3 + 3 + 2 + 1)
    // An inactive source gets 0 and leaves the shares.
    let alone = rule.solve(st, active: [false, true, true])
    #expect(alone.weights == [[0, 0], [0, 0], [1, 1]])
    // No open source: every layer is empty.
    let none = rule.solve(st, active: [false, true, false])
    #expect(none.emptyLayers == [0, 1] && none.weights == [[0, 0], [0, 0], [0, 0]])
  }

  @Test(
    "the label bound: an EMA from 0 less z standard errors; a weak but steady source opens, a flickering one stays closed"
  )
  func labelBound() {
    // Source 0: a weak useful source (label score steady at 0.15). Source 1: harmful (±0.3, mean 0).
    let a = step([[0.1], [0.1], [1]], label: [0.15, 0.3, 0.6])
    let b = step([[0.1], [0.1], [1]], label: [0.15, -0.3, 0.6])
    var rule = GatedPCGradWeighting(
      sources: 3, smoothing: 0.5, targetIndex: 2, hold: 0, labelConfidence: 1, labelMatch: false)
    // Step 1: m = ½ x, q = ½ x²: bound x (½ − ½/√3) > 0 for x > 0 (variance factor (1 − β)/(1 + β) = 1/3).
    let w1 = rule.solve(a, active: [true, true, true])
    for (m, e) in zip(rule.labelMeans + rule.labelSquares, [0.075, 0.15, 0.3, 0.01125, 0.045, 0.18]) {
      #expect(abs(m - e) < 1e-15)
    }
    #expect(w1.weights.map { $0[0] } == [Float(1.0 / 3), Float(1.0 / 3), Float(1.0 / 3)])
    var w = w1
    for i in 0..<10 { w = rule.solve(i % 2 == 0 ? b : a, active: [true, true, true]) }
    // After 11 steps the harmful source's mean is +0.1 but its standard error 0.16: closed; the weak one
    // (mean 0.15, standard error 0.003) open.
    #expect(abs(rule.labelMeans[1] - 0.1) < 1e-3)
    #expect(w.weights.map { $0[0] } == [0.5, 0, 0.5])
    // The bound with z = 0 is the mean alone: a score of 0 (no label signature) stays closed.
    var silent = GatedPCGradWeighting(sources: 2, smoothing: 0.5, hold: 0, labelConfidence: 0, labelMatch: false)
    #expect(silent.solve(step([[1], [1]], label: [0, 1]), active: [true, true]).weights == [[0], [1]])
  }

  @Test("the class match is a veto: a source at or below chance is closed where its label cosine passes")
  func classMatch() {
    let st = step([[3, 1], [1, 1]], label: [0.6, 0.8], match: [-0.1, 0.6])
    func rule(_ veto: Bool) -> GatedPCGradWeighting {
      GatedPCGradWeighting(sources: 2, smoothing: 0.5, targetIndex: 1, hold: 0, labelConfidence: 0, labelMatch: veto)
    }
    var cosineOnly = rule(false), vetoed = rule(true)
    #expect(cosineOnly.solve(st, active: [true, true]).weights == [[0.5, 0.5], [0.5, 0.5]])
    #expect(vetoed.solve(st, active: [true, true]).weights == [[0, 0], [1, 1]])
    #expect(vetoed.matchMeans == [-0.05, 0.3])
    // No bound on the match: a mean just above 0 opens the source.
    let better = step([[3, 1], [1, 1]], label: [0.6, 0.8], match: [0.2, 0.6])
    #expect(vetoed.solve(better, active: [true, true]).weights[0] == [0.5, 0.5])  // m = −0.025 + 0.1
    // The veto is a part of the gate.
    #expect(!GatedPCGradWeighting(sources: 2, labelGate: false, labelMatch: true).labelMatch)
    var ungated = GatedPCGradWeighting(sources: 2, hold: 0, labelGate: false)
    #expect(ungated.solve(st, active: [true, true]).weights == [[0.5, 0.5], [0.5, 0.5]])
    #expect(!ungated.usesLabelScores && !ungated.needsWholeSourceNorms)
  }

  @Test("hold: the first H steps mix the target set alone while the gate's EMAs move")
  func hold() {
    let st = step([[1, 3], [-1, 1]], label: [0.5, 0.5])
    var held = GatedPCGradWeighting(sources: 2, smoothing: 0.5, targetIndex: 1, hold: 2, labelConfidence: 0)
    var plain = GatedPCGradWeighting(sources: 2, smoothing: 0.5, targetIndex: 1, hold: 0, labelConfidence: 0)
    for _ in 0..<2 {
      let w = held.solve(st, active: [true, true])
      #expect(w.weights == [[0, 0], [1, 1]] && w.targetCoefficients == [0, 0])
      _ = plain.solve(st, active: [true, true])
    }
    #expect(held.labelMeans == plain.labelMeans && held.labelMeans[0] == 0.375)
    // After the hold the rule is the plain one: the target's layer 0 conflict is projected (c_0 = ½).
    let third = plain.solve(st, active: [true, true])
    #expect(held.solve(st, active: [true, true]) == third && third.targetCoefficients == [0.5, 0])
    // Without the target set among the sources there is nothing to hold to.
    var noTarget = GatedPCGradWeighting(sources: 2, smoothing: 0.5, hold: 2, labelConfidence: 0)
    #expect(noTarget.solve(st, active: [true, true]).weights[0] == [0.5, 0.5])
  }

  @Test("the state resumes the rule exactly; a checkpoint from before the hold resumes past it")
  func state() {
    let a = step([[1, 3], [2, -1], [1, 1]], label: [0.4, 0.1, 0.9], match: [0.3, 0.1, 0.5])
    let b = step([[1, 3], [2, -1], [1, 1]], label: [0.2, -0.2, 0.9], match: [0.3, -0.2, 0.5])
    var rule = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    for i in 0..<6 { _ = rule.solve(i % 2 == 0 ? a : b, active: [true, true, true]) }
    var resumed = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    resumed.state = rule.state
    #expect(resumed.solved == 6 && resumed.labelMeans == rule.labelMeans && resumed.matchMeans == rule.matchMeans)
    for i in 0..<4 {
      let s = i % 2 == 0 ? a : b
      #expect(resumed.solve(s, active: [true, true, true]) == rule.solve(s, active: [true, true, true]))
    }
    // Older checkpoints: the layer scores of removed settings are ignored; with no step count, past the hold.
    var old = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    old.state = ["gradmix.means": [1, 2, 3, 4, 5, 6], "gradmix.label_means": [0.5, 0.5, 0.5]]
    #expect(old.solved == 3 && old.labelMeans == [0.5, 0.5, 0.5] && old.state["gradmix.means"] == nil)
  }
}
