import Foundation
import Testing

@testable import GradMixCore

/// One step's statistics: per-(source, layer) dot products, every squared norm 1 but the target's
/// (`targetSquared`), per-source label scores and class cosines (`classes[k]`, C×C row-major, every
/// class present in every batch and in the target; by default two classes, each row its own class's).
private func step(
  _ dots: [[Double]], targetSquared: [Double]? = nil, label: [Double], classes: [[Double]]? = nil
) -> StepStatistics {
  let cosines = classes ?? dots.map { _ in [1, 0, 0, 1] }
  let c = Int(Double(cosines[0].count).squareRoot())
  var s = StepStatistics(sources: dots.count, layers: dots[0].count, classes: c)
  s.dots = dots
  s.sourceSquaredNorms = dots.map { $0.map { _ in 1 } }
  s.targetSquaredNorms = targetSquared ?? dots[0].map { _ in 1 }
  for k in 0..<dots.count { s.present[k] = 1; s.finite[k] = 1 }
  s.labelScores = label
  s.classCosines = cosines
  s.classPresence = cosines.map { _ in [Double](repeating: 1, count: c) }
  s.targetClasses = [Double](repeating: 1, count: c)
  return s
}

@Suite("gated-pcgrad, the default rule: a label gate in front of shares 1/K with per-layer projection")
struct GatedPCGradWeightingTests {
  @Test(
    "a source the label gate closes gets 0 in every layer and its share is dropped; the open ones 1/K, conflicts projected"
  )
  func gateAndShares() {
    // Source 1's labels disagree with the target's; source 0 conflicts with the target in layer 1
    // (d = −2, ‖g_T,1‖² = 4). The labelled target set is source 2.
    let st = step([[1, -2], [3, 3], [2, 1]], targetSquared: [1, 4], label: [0.5, -0.5, 0.8])
    var rule = GatedPCGradWeighting(
      sources: 3, smoothing: 0.5, targetIndex: 2, hold: 0, labelConfidence: 0, labelMatch: false)
    let w = rule.solve(st, active: [true, true, true])
    // K = 3 active sources: the open ones get 1/3 each, the closed one's third goes to no one.
    let third = Float(1.0 / 3)
    #expect(w.weights == [[third, third], [0, 0], [third, third]])
    // c_1 = −⅓ · (−2) / 4: source 0's layer 1 loses its component along g_T,1; layer 0 has no conflict.
    #expect(w.targetCoefficients == [0, Float(1.0 / 6)] && w.emptyLayers.isEmpty)
    // Usefulness is the paper's Σ_k Σ_l max(d, 0) over every active source, closed ones included.
    #expect(w.usefulness == 1 + 3 + 3 + 2 + 1)
    // An inactive source gets 0 and leaves K; the closed one stays in K.
    let alone = rule.solve(st, active: [false, true, true])
    #expect(alone.weights == [[0, 0], [0, 0], [0.5, 0.5]])
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
    #expect(w.weights.map { $0[0] } == [Float(1.0 / 3), 0, Float(1.0 / 3)])
    // The bound with z = 0 is the mean alone: a score of 0 (no label signature) stays closed.
    var silent = GatedPCGradWeighting(sources: 2, smoothing: 0.5, hold: 0, labelConfidence: 0, labelMatch: false)
    #expect(silent.solve(step([[1], [1]], label: [0, 1]), active: [true, true]).weights == [[0], [0.5]])
  }

  @Test(
    "the per-class check: two classes matching other target rows close a source, one odd class or noise does not")
  func perClassCheck() {
    // Three classes, r[c][t] = cos(Λ_k,c, Λ̄_T,t). Source 0: classes 1 and 2 swapped (a look-alike pair);
    // source 1: the target set; source 2: one odd class; source 3: weak rows whose best other class
    // flips between steps (per step r_cc − max_t r_ct = −0.2, below the −0.15 threshold).
    let swapped: [Double] = [1, 0, 0, 0, 0.4, 0.9, 0, 0.9, 0.4]
    let own: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    let odd: [Double] = [1, 0, 0, 0, 1, 0, 0, 0.5, 0.2]
    func weak(_ flip: Bool) -> [Double] {
      var r = [Double](repeating: 0, count: 9)
      for c in 0..<3 { r[c * 3 + c] = 0.3; r[c * 3 + (flip ? c + 2 : c + 1) % 3] = 0.5 }
      return r
    }
    let dots = [[Double]](repeating: [1], count: 4), label = [0.6, 0.8, 0.5, 0.4]
    let a = step(dots, label: label, classes: [swapped, own, odd, weak(false)])
    let b = step(dots, label: label, classes: [swapped, own, odd, weak(true)])
    func rule(_ check: Bool) -> GatedPCGradWeighting {
      GatedPCGradWeighting(sources: 4, smoothing: 0.5, targetIndex: 1, hold: 0, labelConfidence: 0, labelMatch: check)
    }
    var checked = rule(true), cosineOnly = rule(false)
    for i in 0..<6 {
      let st = i % 2 == 0 ? a : b
      #expect(checked.solve(st, active: [true, true, true, true]).weights == [[0], [0.25], [0.25], [0.25]])
      #expect(cosineOnly.solve(st, active: [true, true, true, true]).weights == [[0.25], [0.25], [0.25], [0.25]])
    }
    // R̄ is the EMA from 0 (β = ½ after 6 steps: 1 − 2⁻⁶ of the constant rows); the statistic is the
    // second-lowest margin: source 0's rows 1, 2 at (0.4 − 0.9)(1 − 2⁻⁶), source 2's row 2 alone below 0.
    let f = 1 - 1.0 / 64
    #expect(abs(checked.classStatistic(0, a) + 0.5 * f) < 1e-12)
    #expect(abs(checked.classStatistic(2, a) - f) < 1e-12 && abs(checked.classStatistic(1, a) - f) < 1e-12)
    // Source 3's smoothed rows: the diagonal near 0.3, the two others alternating near 1/3 and 1/6.
    #expect(checked.classStatistic(3, a) > -0.05 && checked.classStatistic(3, a) < 0)
    // A class absent from the batch keeps its row; a source with no class in common with the target is closed.
    var absent = b
    absent.classPresence[0] = [1, 0, 0]
    absent.classCosines[0] = [1, 0, 0, 0, 0, 0, 0, 0, 0]
    let before = checked.classMeans[0]
    _ = checked.solve(absent, active: [true, true, true, true])
    #expect(checked.classMeans[0][1...] == before[1...] && checked.classMeans[0][0] == 0.5 * before[0] + 0.5)
    var foreign = GatedPCGradWeighting(sources: 2, hold: 0, labelConfidence: 0)
    var none = step([[1], [1]], label: [0.5, 0.5], classes: [own, own])
    none.classPresence[0] = [0, 0, 0]
    #expect(foreign.solve(none, active: [true, true]).weights == [[0], [0.5]])
    // The check is a part of the gate.
    #expect(!GatedPCGradWeighting(sources: 2, labelGate: false, labelMatch: true).labelMatch)
    var ungated = GatedPCGradWeighting(sources: 2, hold: 0, labelGate: false)
    let pair = step([[1], [1]], label: [0.5, 0.5], classes: [swapped, own])
    #expect(ungated.solve(pair, active: [true, true]).weights == [[0.5], [0.5]])
    #expect(!ungated.usesLabelScores && !ungated.needsWholeSourceNorms)
  }

  @Test("hold: the first H steps mix the target set alone, at its share 1/K, while the gate's EMAs move")
  func hold() {
    let st = step([[1, 3], [-1, 1]], label: [0.5, 0.5])
    var held = GatedPCGradWeighting(sources: 2, smoothing: 0.5, targetIndex: 1, hold: 2, labelConfidence: 0)
    var plain = GatedPCGradWeighting(sources: 2, smoothing: 0.5, targetIndex: 1, hold: 0, labelConfidence: 0)
    for _ in 0..<2 {
      let w = held.solve(st, active: [true, true])
      #expect(w.weights == [[0, 0], [0.5, 0.5]] && w.targetCoefficients == [0, 0])
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
    let a = step(
      [[1, 3], [2, -1], [1, 1]], label: [0.4, 0.1, 0.9], classes: [[1, 0.2, 0, 1], [0.3, 0.5, 0, 1], [1, 0, 0, 1]])
    let b = step(
      [[1, 3], [2, -1], [1, 1]], label: [0.2, -0.2, 0.9],
      classes: [[1, 0, 0.4, 1], [0.3, 0, 0.6, 0.2], [1, 0, 0, 1]])
    var rule = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    for i in 0..<6 { _ = rule.solve(i % 2 == 0 ? a : b, active: [true, true, true]) }
    var resumed = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    resumed.state = rule.state
    #expect(resumed.solved == 6 && resumed.labelMeans == rule.labelMeans && resumed.classMeans == rule.classMeans)
    #expect(resumed.classSeen == rule.classSeen && rule.classMeans[1] != [0, 0, 0, 0])
    for i in 0..<4 {
      let s = i % 2 == 0 ? a : b
      #expect(resumed.solve(s, active: [true, true, true]) == rule.solve(s, active: [true, true, true]))
    }
    // Older checkpoints: the layer scores of removed settings are ignored; with no step count, past the hold.
    var old = GatedPCGradWeighting(sources: 3, targetIndex: 2, hold: 3)
    old.state = [
      "gradmix.means": [1, 2, 3, 4, 5, 6], "gradmix.label_means": [0.5, 0.5, 0.5], "gradmix.label_matches": [1, 1, 1],
    ]
    #expect(old.solved == 3 && old.labelMeans == [0.5, 0.5, 0.5] && old.state["gradmix.means"] == nil)
    #expect(old.classMeans == [[], [], []] && old.state["gradmix.label_matches"] == nil)
  }
}
