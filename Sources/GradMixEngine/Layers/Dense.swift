// Legend: N = batch, I = input features, O = output features.

/// A fully connected layer, `y = x · Wᵀ + b`.
///
/// Parameters: `weight` [O, I] (PyTorch's layout) and `bias` [O].
public struct Dense: Layer {
  public let inputSize: Int
  public let outputSize: Int
  /// When true the layer applies ReLU to its output (set by `Sequential`
  /// when a `relu` follows).
  public let fusedReLU: Bool
  public let token: String

  public init(inputSize: Int, outputSize: Int, fusedReLU: Bool = false, token: String? = nil) {
    precondition(inputSize > 0 && outputSize > 0,
      "Dense needs positive sizes, got input \(inputSize), output \(outputSize).")
    self.inputSize = inputSize; self.outputSize = outputSize; self.fusedReLU = fusedReLU
    self.token = token ?? "fc\(outputSize)"
  }

  public var parameterShapes: [ParameterShape] {
    [ParameterShape("weight", [outputSize, inputSize]), ParameterShape("bias", [outputSize])]
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input.count == inputSize else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "expected \(inputSize) input features")
    }
    return Shape([outputSize])
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let o = outputSize
    let bias = parameters + o * inputSize
    for i in 0..<n { (y + i * o).update(from: bias, count: o) }          // y [N, O] = b
    BLAS.gemm(y, ldc: o, x, lda: inputSize, transposeA: false, parameters, ldb: inputSize, transposeB: true,
              m: n, n: o, k: inputSize, beta: 1)                          // y += x · Wᵀ
    if fusedReLU {
      let total = n * o
      for j in 0..<total { y[j] = max(y[j], 0) }
    }
  }

  // MARK: - Backward

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let o = outputSize
    var g = dy
    if fusedReLU {  // scratch [N, O] holds dY masked by the ReLU
      let total = n * o
      for j in 0..<total { scratch[j] = y[j] > 0 ? dy[j] : 0 }
      g = UnsafePointer(scratch)
    }
    let dBias = dParameters + o * inputSize
    for i in 0..<n {
      let row = g + i * o
      for j in 0..<o { dBias[j] += row[j] }
    }
    // dW [O, I] += dYᵀ [O, N] · x [N, I]
    BLAS.gemm(dParameters, ldc: inputSize, g, lda: o, transposeA: true, x, ldb: inputSize, transposeB: false,
              m: o, n: inputSize, k: n, beta: 1)
    guard let dx else { return }
    // dX [N, I] = dY [N, O] · W [O, I]
    BLAS.gemm(dx, ldc: inputSize, g, lda: o, transposeA: false, parameters, ldb: inputSize, transposeB: false,
              m: n, n: inputSize, k: o)
  }

  public func scratchCount(input: Shape, batch: Int) -> Int { fusedReLU ? batch * outputSize : 0 }
}
