import GradMixCore
import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("Layer-wise weights")
struct LayerWeightingTests {
  @Test("equal gradients get equal weights")
  func equal() {
    let w = LayerWeighting.solve(dots: [[2, 3], [2, 3], [2, 3]], active: [true, true, true], rule: .layerWise)
    for k in 0..<3 { for l in 0..<2 { #expect(abs(w.weights[k][l] - 1.0 / 3) < 1e-7) } }
    #expect(w.emptyLayers.isEmpty)
    #expect(abs(w.usefulness - 15) < 1e-12)
  }

  @Test("an orthogonal or opposite source gets weight 0; the rest are normalised per layer")
  func rectification() {
    // Source 0 helps both layers, source 1 is orthogonal in layer 0 and opposite in layer 1,
    // source 2 is opposite in layer 0 and helps layer 1.
    let dots: [[Double]] = [[4, 1], [0, -5], [-2, 3]]
    let w = LayerWeighting.solve(dots: dots, active: [true, true, true], rule: .layerWise)
    #expect(w.weights[0] == [1, 0.25])
    #expect(w.weights[1] == [0, 0])
    #expect(w.weights[2] == [0, 0.75])
    for l in 0..<2 { #expect(abs(w.weights.map { $0[l] }.reduce(0, +) - 1) < 1e-7) }
    #expect(w.usefulness == 8)
  }

  @Test("a layer where every source points away gets no update")
  func emptyLayer() {
    let w = LayerWeighting.solve(dots: [[1, -1, 2], [3, -0.5, 0]], active: [true, true], rule: .layerWise)
    #expect(w.emptyLayers == [1])
    #expect(w.weights[0][1] == 0 && w.weights[1][1] == 0)
    #expect(w.weights[0][0] == 0.25 && w.weights[1][0] == 0.75)
    #expect(w.weights[0][2] == 1 && w.weights[1][2] == 0)
  }

  @Test("inactive sources are excluded from the normalisation")
  func inactive() {
    let w = LayerWeighting.solve(dots: [[1, 1], [100, 100], [3, 1]], active: [true, false, true], rule: .layerWise)
    #expect(w.weights[1] == [0, 0])
    #expect(w.weights[0] == [0.25, 0.5] && w.weights[2] == [0.75, 0.5])
    #expect(w.usefulness == 6)
  }

  @Test("source-wise weights sum each source's dot products over layers")
  func sourceWise() {
    // Source 0 total 3, source 1 total -1 (rectified to 0), source 2 total 1.
    let w = LayerWeighting.solve(dots: [[4, -1], [2, -3], [-1, 2]], active: [true, true, true], rule: .sourceWise)
    #expect(w.weights[0] == [0.75, 0.75])
    #expect(w.weights[1] == [0, 0])
    #expect(w.weights[2] == [0.25, 0.25])
    #expect(w.usefulness == 4)
  }

  @Test("uniform weights ignore the dot products")
  func uniform() {
    let w = LayerWeighting.solve(dots: [[-4, -1], [2, -3]], active: [true, true], rule: .uniform)
    #expect(w.weights == [[0.5, 0.5], [0.5, 0.5]])
  }

  @Test("adaptive learning rate: 1 at first, relative to the running average, clipped")
  func adaptiveLearningRate() {
    var alr = AdaptiveLearningRate(beta: 0.5, minScale: 0.5, maxScale: 2)
    #expect(alr.scale(usefulness: 4) == 1)  // ū = 4
    #expect(alr.scale(usefulness: 6) == 1.5)  // 6/4; ū = 5
    #expect(alr.scale(usefulness: 50) == 2)  // clipped; ū = 27.5
    #expect(alr.scale(usefulness: 1) == 0.5)  // clipped; ū = 14.25
    #expect(alr.scale(usefulness: 14.25) == 1)
    #expect(alr.scale(usefulness: .nan) == 1)  // a non-finite step does not move the average
    #expect(alr.average == 14.25)
  }

  @Test("the mixer accumulates weighted layer slices")
  func mixer() throws {
    let model = try Sequential(spec: "fc3-fc2", inputShape: Shape([2]))  // fc1: 6+3, fc2: 6+2
    let mixer = GradientMixer(layout: model.layout)
    let a = FlatBuffer((0..<17).map { Float($0) }), b = FlatBuffer([Float](repeating: 1, count: 17))
    let dots = mixer.layerDots(a, b)
    #expect(dots == [Double((0..<9).reduce(0, +)), Double((9..<17).reduce(0, +))])
    let mixed = FlatBuffer(count: 17)
    mixer.accumulate(a, weights: [0.5, 0], into: mixed)
    mixer.accumulate(b, weights: [1, 2], into: mixed)
    #expect(mixed.array == (0..<9).map { Float($0) * 0.5 + 1 } + [Float](repeating: 2, count: 8))
  }
}
