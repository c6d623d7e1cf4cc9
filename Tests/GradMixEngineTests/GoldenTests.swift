import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// Compares the engine with values computed independently in float64 by
/// `python3 scripts/reference/make_golden.py` (NumPy; cross-checked against
/// PyTorch with `--check-torch`), stored in Fixtures/golden.json.
@Suite("Golden values from scripts/reference/make_golden.py")
struct GoldenTests {
  struct ConvCase: Decodable {
    let input_shape: [Int], input: [Double], weight_shape: [Int], weight: [Double], bias: [Double]
    let stride: Int, padding: Int, output_shape: [Int], output: [Double]
    let dy: [Double], dx: [Double], dw: [Double], db: [Double]
  }
  struct PoolCase: Decodable {
    let input_shape: [Int], input: [Double], kernel: Int, stride: Int, output_shape: [Int], output: [Double]
    let dy: [Double], dx: [Double]
  }
  struct DenseCase: Decodable {
    let input_shape: [Int], input: [Double], weight_shape: [Int], weight: [Double], bias: [Double]
    let output: [Double], dy: [Double], dx: [Double], dw: [Double], db: [Double]
  }
  struct LossCase: Decodable {
    let name: String, logits_shape: [Int], logits: [Double], labels: [Int32]
    let weights: [Double]?, mask: [Int]?, loss: Double, dlogits: [Double]
  }
  struct Golden: Decodable {
    let conv_a: ConvCase, conv_b: ConvCase, maxpool: PoolCase, dense: DenseCase, softmax_ce: [LossCase]
  }

  static func load() throws -> Golden {
    let url = try #require(Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
  }

  /// Runs forward and backward of `layer` on one batch; returns y, dx, dθ.
  func run(_ layer: any StatelessLayer, shape: [Int], x: [Double], params: [Double], dy: [Double]) throws
    -> (y: [Float], dx: [Float], dParams: [Float])
  {
    let n = shape[0]
    let inShape = Shape(Array(shape.dropFirst()))
    let outCount = try n * layer.outputShape(for: inShape).count
    var y = [Float](repeating: 0, count: outCount)
    var dx = [Float](repeating: 0, count: x.count)
    var dp = [Float](repeating: 0, count: max(params.count, 1))
    var scratch = [Float](repeating: 0, count: max(1, layer.scratchCount(input: inShape, batch: n)))
    let xf = x.map(Float.init), pf = params.isEmpty ? [0] : params.map(Float.init), dyf = dy.map(Float.init)
    var rng = RNG(seed: 0)
    y.withUnsafeMutableBufferPointer { yb in
      scratch.withUnsafeMutableBufferPointer { sb in
        layer.forward(
          output: yb.baseAddress!, input: xf, parameters: pf, scratch: sb.baseAddress!,
          inputShape: inShape, batch: n, mode: .eval, rng: &rng)
      }
    }
    dx.withUnsafeMutableBufferPointer { dxb in
      dp.withUnsafeMutableBufferPointer { dpb in
        scratch.withUnsafeMutableBufferPointer { sb in
          layer.backward(
            dInput: dxb.baseAddress!, dParameters: dpb.baseAddress!, dOutput: dyf, input: xf,
            output: y, parameters: pf, scratch: sb.baseAddress!, inputShape: inShape, batch: n)
        }
      }
    }
    return (y, dx, Array(dp.prefix(params.count)))
  }

  @Test("Conv2D matches the reference", arguments: ["conv_a", "conv_b"])
  func conv(_ name: String) throws {
    let g = try Self.load()
    let t = name == "conv_a" ? g.conv_a : g.conv_b
    let layer = try Conv2D(
      input: Shape(Array(t.input_shape.dropFirst())), outChannels: t.weight_shape[0], kernelSize: t.weight_shape[2],
      stride: t.stride, padding: t.padding)
    #expect(
      try layer.outputShape(for: Shape(Array(t.input_shape.dropFirst())))
        == Shape(Array(t.output_shape.dropFirst())))
    let r = try run(layer, shape: t.input_shape, x: t.input, params: t.weight + t.bias, dy: t.dy)
    expectClose(r.y, t.output, absolute: 1e-5, relative: 1e-5, "\(name) output")
    expectClose(r.dx, t.dx, absolute: 1e-5, relative: 1e-5, "\(name) dx")
    expectClose(r.dParams, t.dw + t.db, absolute: 1e-5, relative: 1e-5, "\(name) dw, db")
  }

  @Test("MaxPool2D matches the reference")
  func pool() throws {
    let t = try Self.load().maxpool
    let r = try run(
      MaxPool2D(kernelSize: t.kernel, stride: t.stride, input: Shape(Array(t.input_shape.dropFirst()))),
      shape: t.input_shape, x: t.input, params: [], dy: t.dy)
    expectClose(r.y, t.output, absolute: 1e-6, relative: 0, "maxpool output")
    expectClose(r.dx, t.dx, absolute: 1e-6, relative: 0, "maxpool dx")
  }

  @Test("Dense matches the reference")
  func dense() throws {
    let t = try Self.load().dense
    let layer = Dense(inputSize: t.weight_shape[1], outputSize: t.weight_shape[0])
    let r = try run(layer, shape: t.input_shape, x: t.input, params: t.weight + t.bias, dy: t.dy)
    expectClose(r.y, t.output, absolute: 1e-5, relative: 1e-5, "dense output")
    expectClose(r.dx, t.dx, absolute: 1e-5, relative: 1e-5, "dense dx")
    expectClose(r.dParams, t.dw + t.db, absolute: 1e-5, relative: 1e-5, "dense dw, db")
  }

  @Test("Softmax cross-entropy matches the reference (weights, mask, large logits)")
  func loss() throws {
    for t in try Self.load().softmax_ce {
      var d: [Float] = []
      let mask = t.mask.map { ClassMask(allowed: $0.map { $0 != 0 }) }
      let l = SoftmaxCrossEntropy.loss(
        dLogits: &d, logits: t.logits.map(Float.init), labels: t.labels,
        weights: t.weights?.map(Float.init), mask: mask)
      #expect(abs(Double(l) - t.loss) <= 1e-5 * max(1, abs(t.loss)), "\(t.name): loss \(l) vs \(t.loss)")
      expectClose(d, t.dlogits, absolute: 1e-6, relative: 1e-4, "\(t.name) dlogits")
      if let m = t.mask {
        let n = t.labels.count, k = m.count
        for i in 0..<n { for c in 0..<k where m[c] == 0 { #expect(d[i * k + c] == 0) } }
      }
    }
  }
}
