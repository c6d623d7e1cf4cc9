import GradMixEngine
import GradMixTestSupport
import Testing

/// Finite-difference checks of every layer, on small random shapes.
///
/// Tolerance: max relative error < 1e-2 per checked coordinate (denominator
/// floored at 1e-2). Float32 central differences with ε = 1e-2 leave about
/// 1e-4 of round-off on piecewise-linear layers; a wrong index or a missing
/// term gives an O(1) error on the affected coordinates, so 1e-2 separates
/// the two by two orders of magnitude. A coordinate is judged by the best of
/// three steps (ε, ε/3, ε/10) because a step that crosses a kink is wrong for
/// reasons that are not the layer's; a wrong gradient fails at every step.
@Suite("Layer gradients")
struct LayerGradientTests {
  static let tolerance = 1e-2

  /// Checks the layer built at 1 and at 2 engine threads (issue 30): the
  /// layer is made inside each, so a convolution splits its batch over 2
  /// workers and BatchNorm, pooling and the residual adds split theirs.
  func check(
    _ layer: @autoclosure () throws -> any Layer, _ shape: [Int], batch: Int, seed: UInt64, mode: Mode = .train,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    for threads in [1, 2] {
      try BLAS.withThreads(threads) {
        var checker = LayerGradientCheck(layer: try layer(), inputShape: Shape(shape), batch: batch, seed: seed)
        checker.mode = mode
        let result = try checker.run()
        for c in [result.input] + (result.parameters.map { [$0] } ?? []) {
          #expect(
            c.maxRelativeError < Self.tolerance, "seed \(seed), \(threads) thread(s): \(c)",
            sourceLocation: sourceLocation)
          #expect(c.checked > 0, sourceLocation: sourceLocation)
        }
      }
    }
  }

  struct ConvCase: CustomTestStringConvertible, Sendable {
    let c: Int, h: Int, w: Int, oc: Int, k: Int, s: Int, p: Int, relu: Bool
    /// A convolution chunk size in floats (1: one image per chunk, the
    /// path that writes the output directly and, for a same-size conv,
    /// computes dX from the flipped kernel); nil for the default.
    var chunk: Int? = nil
    var testDescription: String {
      "c\(c) \(h)x\(w) -> oc\(oc) k\(k) s\(s) p\(p)\(relu ? " +relu" : "")\(chunk.map { " chunk \($0)" } ?? "")"
    }
  }

  @Test(
    "Conv2D",
    arguments: [
      ConvCase(c: 1, h: 5, w: 5, oc: 2, k: 3, s: 1, p: 0, relu: false),
      ConvCase(c: 3, h: 7, w: 6, oc: 4, k: 3, s: 2, p: 1, relu: false),
      ConvCase(c: 2, h: 6, w: 9, oc: 3, k: 2, s: 2, p: 0, relu: false),
      ConvCase(c: 2, h: 5, w: 4, oc: 3, k: 3, s: 1, p: 2, relu: false),
      ConvCase(c: 3, h: 8, w: 8, oc: 2, k: 5, s: 3, p: 2, relu: false),
      ConvCase(c: 2, h: 6, w: 6, oc: 3, k: 3, s: 1, p: 1, relu: true),
      ConvCase(c: 2, h: 6, w: 6, oc: 3, k: 3, s: 1, p: 1, relu: true, chunk: 1),
      ConvCase(c: 3, h: 5, w: 7, oc: 2, k: 5, s: 1, p: 2, relu: false, chunk: 1),
      ConvCase(c: 3, h: 7, w: 6, oc: 4, k: 3, s: 2, p: 1, relu: true, chunk: 1),
    ])
  func conv(_ t: ConvCase) throws {
    try check(
      try Conv2D(
        input: Shape([t.c, t.h, t.w]), outChannels: t.oc, kernelSize: t.k, stride: t.s, padding: t.p, fusedReLU: t.relu,
        chunkFloats: t.chunk), [t.c, t.h, t.w], batch: 2, seed: UInt64(t.h * 100 + t.k * 10 + t.s))
  }

  @Test("Conv2D with random shapes", arguments: 0..<6)
  func convRandom(_ i: Int) throws {
    var rng = RNG(seed: 1000 + UInt64(i))
    let k = 1 + rng.int(below: 4), p = rng.int(below: k), s = 1 + rng.int(below: 3)
    let h = k + rng.int(below: 6), w = k + rng.int(below: 6)
    let c = 1 + rng.int(below: 3), oc = 1 + rng.int(below: 4), relu = rng.int(below: 2) == 1
    let layer = try Conv2D(
      input: Shape([c, h, w]), outChannels: oc, kernelSize: k, stride: s, padding: p, fusedReLU: relu)
    print("Conv2D random case \(i) (seed \(1000 + i)): \(layer.token) on [\(c), \(h), \(w)]")
    try check(layer, [c, h, w], batch: 1 + rng.int(below: 3), seed: 2000 + UInt64(i))
  }

  /// conv + ReLU + max pooling as one layer (ConvPool), with several
  /// images per chunk (chunk nil) and one (chunk 1: the same conv's transposed dX).
  @Test("ConvPool", arguments: [(nil, 2, 2), (1, 2, 2), (1, 3, 2)] as [(Int?, Int, Int)])
  func convPool(_ t: (Int?, Int, Int)) throws {
    try check(
      try ConvPool(
        conv: try Conv2D(
          input: Shape([2, 7, 7]), outChannels: 3, kernelSize: 3, padding: 1, fusedReLU: true, chunkFloats: t.0,
          rowGemm: false),
        poolKernel: t.1, poolStride: t.2), [2, 7, 7], batch: 3, seed: 40 + UInt64(t.1))
  }

  @Test("Dense", arguments: [false, true])
  func dense(relu: Bool) throws {
    try check(Dense(inputSize: 7, outputSize: 5, fusedReLU: relu), [7], batch: 3, seed: relu ? 11 : 12)
  }

  @Test("Dense on an image-shaped input (flattened)")
  func denseOnImage() throws {
    try check(Dense(inputSize: 2 * 3 * 3, outputSize: 4), [2, 3, 3], batch: 2, seed: 13)
  }

  @Test("MaxPool2D", arguments: [(2, 2, 6, 6), (3, 2, 7, 7), (3, 1, 5, 6), (2, 2, 5, 7)])
  func maxPool(_ t: (Int, Int, Int, Int)) throws {
    try check(
      try MaxPool2D(kernelSize: t.0, stride: t.1, input: Shape([3, t.2, t.3])), [3, t.2, t.3], batch: 2,
      seed: UInt64(t.0 * 10 + t.1))
  }

  @Test("ReLU")
  func relu() throws { try check(ReLU(), [3, 4, 4], batch: 2, seed: 21) }

  @Test("Flatten")
  func flatten() throws { try check(Flatten(), [2, 3, 4], batch: 2, seed: 22) }

  @Test("Dropout (train mode, fixed mask)")
  func dropout() throws { try check(Dropout(rate: 0.3), [20], batch: 4, seed: 23) }

  // MARK: - BatchNorm, pooling, residual blocks

  @Test("BatchNorm over channels (train: batch statistics)", arguments: [false, true])
  func batchNorm2D(relu: Bool) throws {
    try check(BatchNorm(channels: 3, fusedReLU: relu), [3, 4, 5], batch: 2, seed: relu ? 31 : 32)
  }

  @Test("BatchNorm over features (train), including one value per channel and batch 2")
  func batchNorm1D() throws {
    try check(BatchNorm(channels: 6), [6], batch: 5, seed: 33)
    try check(BatchNorm(channels: 4), [4], batch: 2, seed: 34)
  }

  @Test("BatchNorm in eval mode (running statistics)", arguments: [false, true])
  func batchNormEval(relu: Bool) throws {
    try check(BatchNorm(channels: 3, fusedReLU: relu), [3, 3, 3], batch: 2, seed: relu ? 35 : 36, mode: .eval)
    try check(BatchNorm(channels: 5), [5], batch: 3, seed: 37, mode: .eval)
  }

  @Test("AvgPool2D", arguments: [(2, 2, 6, 6), (3, 2, 7, 7), (3, 1, 5, 6), (2, 3, 7, 8)])
  func avgPool(_ t: (Int, Int, Int, Int)) throws {
    try check(
      try AvgPool2D(kernelSize: t.0, stride: t.1, input: Shape([2, t.2, t.3])), [2, t.2, t.3], batch: 2,
      seed: UInt64(40 + t.0 * 10 + t.1))
  }

  @Test("Global average pooling")
  func globalAvgPool() throws { try check(GlobalAvgPool(), [3, 4, 5], batch: 2, seed: 41) }

  struct ResCase: CustomTestStringConvertible, Sendable {
    let c: Int, oc: Int, s: Int, h: Int, w: Int, eval: Bool
    var testDescription: String { "c\(c) \(h)x\(w) -> res\(oc)s\(s)\(eval ? " eval" : "")" }
  }

  @Test(
    "ResidualBlock (identity and projection shortcuts, train and eval)",
    arguments: [
      ResCase(c: 2, oc: 2, s: 1, h: 5, w: 4, eval: false),  // identity
      ResCase(c: 2, oc: 3, s: 1, h: 4, w: 4, eval: false),  // projection (channels)
      ResCase(c: 2, oc: 3, s: 2, h: 6, w: 5, eval: false),  // projection (stride and channels)
      ResCase(c: 3, oc: 3, s: 2, h: 5, w: 5, eval: false),  // projection (stride)
      ResCase(c: 2, oc: 3, s: 2, h: 6, w: 5, eval: true),
    ])
  func residual(_ t: ResCase) throws {
    try check(
      try ResidualBlock(input: Shape([t.c, t.h, t.w]), outChannels: t.oc, stride: t.s), [t.c, t.h, t.w], batch: 3,
      seed: UInt64(50 + t.oc * 10 + t.s), mode: t.eval ? .eval : .train)
  }
}
