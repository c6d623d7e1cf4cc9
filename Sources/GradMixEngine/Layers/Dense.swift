// Legend: N = batch, I = input features, O = output features.

/// A fully connected layer, `y = x · Wᵀ + b`.
///
/// Parameters: `weight` [O, I] (PyTorch's layout) and `bias` [O].
public struct Dense: StatelessLayer {
  public let inputSize: Int
  public let outputSize: Int
  /// When true the layer applies ReLU to its output (set by `Sequential`
  /// when a `relu` follows).
  public let fusedReLU: Bool
  public let token: String

  /// Threads the layer splits its work over (default `BLAS.threads`).
  public let workers: Int

  public init(inputSize: Int, outputSize: Int, fusedReLU: Bool = false, token: String? = nil, workers: Int? = nil) {
    precondition(
      inputSize > 0 && outputSize > 0,
      "Dense needs positive sizes, got input \(inputSize), output \(outputSize).")
    self.inputSize = inputSize; self.outputSize = outputSize; self.fusedReLU = fusedReLU
    self.token = token ?? "fc\(outputSize)"
    self.workers = workers ?? BLAS.threads
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

  /// The batch rows are split between `workers` threads, each with a
  /// single-threaded GEMM.
  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let o = outputSize, inSize = inputSize, relu = fusedReLU
    let bias = parameters + o * inSize
    let used = max(1, min(workers, n))
    BLAS.parallelWorkers(used) { w in
      let rows = (n * w / used)..<(n * (w + 1) / used)
      guard !rows.isEmpty else { return }
      let yw = y + rows.lowerBound * o
      for i in 0..<rows.count { (yw + i * o).update(from: bias, count: o) }  // y [rows, O] = b
      BLAS.gemm(
        yw, ldc: o, x + rows.lowerBound * inSize, lda: inSize, transposeA: false, parameters, ldb: inSize,
        transposeB: true, m: rows.count, n: o, k: inSize, beta: 1)  // y += x · Wᵀ
      if relu {
        let total = rows.count * o
        for j in 0..<total { yw[j] = max(yw[j], 0) }
      }
    }
  }

  // MARK: - Backward

  /// Workers split dW and db by output features and dX by batch rows, so no
  /// two write the same memory and no partial sums are needed.
  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let o = outputSize, inSize = inputSize
    var g = dy
    if fusedReLU {  // scratch [N, O] holds dY masked by the ReLU
      let total = n * o
      maskedCopyFloats(scratch, dy, mask: y, total)
      g = UnsafePointer(scratch)
    }
    let grad = g
    let used = max(1, min(workers, o, n))
    BLAS.parallelWorkers(used) { w in
      let outs = (o * w / used)..<(o * (w + 1) / used)
      if !outs.isEmpty, let dParameters {
        let dBias = dParameters + o * inSize
        for i in 0..<n {
          let row = grad + i * o
          for j in outs { dBias[j] += row[j] }
        }
        // dW[outs, I] += dY[:, outs]ᵀ · x [N, I]
        BLAS.gemm(
          dParameters + outs.lowerBound * inSize, ldc: inSize, grad + outs.lowerBound, lda: o, transposeA: true,
          x, ldb: inSize, transposeB: false, m: outs.count, n: inSize, k: n, beta: 1)
      }
      guard let dx else { return }
      let rows = (n * w / used)..<(n * (w + 1) / used)
      guard !rows.isEmpty else { return }
      // dX [rows, I] = dY [rows, O] · W [O, I]
      BLAS.gemm(
        dx + rows.lowerBound * inSize, ldc: inSize, grad + rows.lowerBound * o, lda: o, transposeA: false,
        parameters, ldb: inSize, transposeB: false, m: rows.count, n: inSize, k: o)
    }
  }

  public func scratchCount(input: Shape, batch: Int) -> Int { fusedReLU ? batch * outputSize : 0 }
}
