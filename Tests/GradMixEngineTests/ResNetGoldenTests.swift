import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// A small residual network against PyTorch (float64), forward and backward
/// in training and evaluation mode, plus the running statistics after the
/// training pass. Values from `scripts/reference/make_golden_resnet.py`
/// (needs torch; the committed Fixtures/golden_resnet.json does not).
///
/// Tolerance: the engine computes in Float32 (sums of up to 4·8·8 products
/// per BatchNorm channel, 54 per conv output); 2e-4 absolute + 1e-3
/// relative is two orders of magnitude above that round-off, and a wrong
/// term (a missing 1/M, a biased running variance, a dropped shortcut) is
/// O(1e-2) or more.
@Suite("Residual network against PyTorch (scripts/reference/make_golden_resnet.py)")
struct ResNetGoldenTests {
  struct Pass: Decodable {
    let logits: [Double]
    let gradients: [String: [Double]]
    let state: [String: [Double]]?
  }
  struct Golden: Decodable {
    let spec: String, input_shape: [Int], batch: Int, x: [Double], dy: [Double]
    let parameters: [String: [Double]], state: [String: [Double]], train: Pass, eval: Pass
  }

  static func load() throws -> Golden {
    let url = try #require(
      Bundle.module.url(forResource: "golden_resnet", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
  }

  /// Fills `buffer` by tensor name from `values`, requiring every entry.
  func fill(_ buffer: FlatBuffer, _ layout: ParameterLayout, _ values: [String: [Double]]) throws {
    for e in layout.entries {
      let v = try #require(values[e.name], "no golden tensor \(e.name)")
      try #require(v.count == e.range.count, "\(e.name): \(v.count) values for \(e.range.count)")
      for (i, x) in v.enumerated() { buffer.storage[e.range.lowerBound + i] = Float(x) }
    }
  }

  func flatten(_ layout: ParameterLayout, _ values: [String: [Double]]) -> [Double] {
    layout.entries.flatMap { values[$0.name] ?? [] }
  }

  @Test(
    "logits, parameter gradients and running statistics match PyTorch in train and eval mode, at 1 and 2 threads",
    arguments: [1, 2])
  func matchesTorch(threads: Int) throws {
    try BLAS.withThreads(threads) { try matchesTorch(try Self.load()) }
  }

  func matchesTorch(_ g: Golden) throws {
    let model = try Sequential(spec: g.spec, inputShape: Shape(g.input_shape))
    #expect(Set(model.layout.entries.map(\.name)) == Set(g.parameters.keys))
    #expect(Set(model.stateLayout.entries.map(\.name)) == Set(g.state.keys))
    let params = model.makeBuffer(), state = model.makeState()
    try fill(params, model.layout, g.parameters)
    try fill(state, model.stateLayout, g.state)
    let ws = model.makeWorkspace(maxBatch: g.batch)
    for (i, v) in g.x.enumerated() { ws.input[i] = Float(v) }
    var rng = RNG(seed: 0)
    for (mode, expected) in [(Mode.train, g.train), (.eval, g.eval)] {
      let grads = model.makeBuffer()
      let logits = model.forward(ws, batch: g.batch, parameters: params, state: state, mode: mode, rng: &rng)
      expectClose(Array(logits), expected.logits, absolute: 2e-4, relative: 1e-3, "\(mode) logits")
      for (i, v) in g.dy.enumerated() { ws.dOutput.storage[i] = Float(v) }
      model.backward(ws, batch: g.batch, parameters: params, gradients: grads)
      for e in model.layout.entries {
        expectClose(
          Array(grads.slice(e.range)), expected.gradients[e.name] ?? [], absolute: 2e-4, relative: 1e-3,
          "\(mode) d\(e.name)")
      }
      if let s = expected.state {
        expectClose(state.array, flatten(model.stateLayout, s), absolute: 1e-5, relative: 1e-4, "\(mode) state")
      }
    }
  }
}
