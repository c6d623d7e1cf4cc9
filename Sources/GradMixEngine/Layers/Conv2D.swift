// Legend: N = batch, C = input channels, H, W = input size, OC = output
// channels, KH, KW = kernel, OH, OW = output size, OHW = OH*OW, CKK = C*KH*KW.

/// 2-D convolution by im2col + one `cblas_sgemm` over the whole batch.
///
/// Parameters: `weight` [OC, C, KH, KW] (PyTorch's layout) and `bias` [OC].
/// Forward unfolds the batch into columns [CKK, N*OHW] (kept in scratch for
/// the backward pass), multiplies `weight` [OC, CKK] by them into a
/// [OC, N*OHW] product, then scatters it to NCHW while adding the bias.
/// Backward gathers dY to [OC, N*OHW], takes dW = dY · colsᵀ and
/// db = row sums in one pass each, and, when dX is wanted, dCols = Wᵀ · dY
/// (written over the columns, which are no longer needed) folded by col2im.
/// THNN's `SpatialConvolutionMM` follows the same plan.
public struct Conv2D: Layer {
  public let inChannels: Int
  public let outChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  /// When true the layer applies ReLU to its output as part of the scatter
  /// (set by `Sequential` when a `relu` follows; saves one pass over memory).
  public let fusedReLU: Bool
  public let token: String

  public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
              fusedReLU: Bool = false, token: String? = nil) {
    precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
      "Conv2D needs positive channels, kernel and stride and a non-negative padding, got in \(inChannels), out \(outChannels), kernel \(kernelSize), stride \(stride), padding \(padding).")
    self.inChannels = inChannels; self.outChannels = outChannels; self.kernelSize = kernelSize
    self.stride = stride; self.padding = padding; self.fusedReLU = fusedReLU
    self.token = token ?? "conv\(outChannels)k\(kernelSize)" + (stride != 1 ? "s\(stride)" : "") + (padding != 0 ? "p\(padding)" : "")
  }

  public var parameterShapes: [ParameterShape] {
    [ParameterShape("weight", [outChannels, inChannels, kernelSize, kernelSize]), ParameterShape("bias", [outChannels])]
  }

  func geometry(_ input: Shape) -> ConvGeometry? {
    guard input.rank == 3, input.dims[0] == inChannels else { return nil }
    return ConvGeometry(channels: inChannels, height: input.dims[1], width: input.dims[2],
                        kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: padding)
  }

  func checkedGeometry(_ input: Shape) -> ConvGeometry {
    guard let g = geometry(input) else {
      preconditionFailure("\(token) cannot take input \(input); the model should have rejected it.")
    }
    return g
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input.rank == 3 else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "a convolution needs a [C, H, W] input")
    }
    guard input.dims[0] == inChannels else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "expected \(inChannels) input channels")
    }
    guard let g = geometry(input) else {
      throw ModelSpecError.doesNotFit(layer: token, input: input,
        reason: "a \(kernelSize)x\(kernelSize) kernel with padding \(padding) does not fit \(input.dims[1])x\(input.dims[2])")
    }
    return Shape([outChannels, g.outH, g.outW])
  }

  /// Columns [CKK, N*OHW], the product [OC, N*OHW], and a row of ones
  /// [N*OHW] (the bias gradient is one `sgemv` against it).
  public func scratchCount(input: Shape, batch: Int) -> Int {
    let g = checkedGeometry(input)
    return (g.patch + outChannels + 1) * batch * g.outPlane
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let g = checkedGeometry(inputShape)
    let ohw = g.outPlane, ld = n * ohw
    let cols = scratch                         // [CKK, N*OHW]
    let product = scratch + g.patch * ld       // [OC, N*OHW]
    let weight = parameters                    // [OC, CKK]
    let bias = parameters + outChannels * g.patch  // [OC]
    BLAS.parallelFor(n) { i in im2col(cols, ldCols: ld, x, image: i, geometry: g) }
    BLAS.gemm(product, ldc: ld, weight, lda: g.patch, transposeA: false, cols, ldb: ld, transposeB: false,
              m: outChannels, n: ld, k: g.patch)
    let oc = outChannels, relu = fusedReLU
    BLAS.parallelFor(n) { i in
      for o in 0..<oc {
        let src = product + o * ld + i * ohw
        let dst = y + (i * oc + o) * ohw
        let b = bias[o]
        if relu {
          for j in 0..<ohw { dst[j] = max(src[j] + b, 0) }
        } else {
          for j in 0..<ohw { dst[j] = src[j] + b }
        }
      }
    }
  }

  // MARK: - Backward

  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let g = checkedGeometry(inputShape)
    let ohw = g.outPlane, ld = n * ohw, oc = outChannels
    let cols = scratch                         // [CKK, N*OHW] from forward
    let dyT = scratch + g.patch * ld           // [OC, N*OHW]
    let weight = parameters
    let dWeight = dParameters                  // [OC, CKK]
    let dBias = dParameters + oc * g.patch     // [OC]
    let relu = fusedReLU
    // Gather dY [N, OC, OHW] -> [OC, N*OHW], masking by the fused ReLU.
    BLAS.parallelFor(n) { i in
      for o in 0..<oc {
        let src = dy + (i * oc + o) * ohw
        let dst = dyT + o * ld + i * ohw
        if relu {
          let out = y + (i * oc + o) * ohw
          for j in 0..<ohw { dst[j] = out[j] > 0 ? src[j] : 0 }
        } else {
          copyFloats(dst, src, ohw)
        }
      }
    }
    let ones = dyT + oc * ld                   // [N*OHW]
    ones.update(repeating: 1, count: ld)
    BLAS.gemv(dBias, dyT, lda: ld, transpose: false, ones, m: oc, n: ld, beta: 1)  // db += dYᵀ·1
    BLAS.gemm(dWeight, ldc: g.patch, dyT, lda: ld, transposeA: false, cols, ldb: ld, transposeB: true,
              m: oc, n: g.patch, k: ld, beta: 1)
    guard let dx else { return }
    BLAS.gemm(cols, ldc: ld, weight, lda: g.patch, transposeA: true, dyT, ldb: ld, transposeB: false,
              m: g.patch, n: ld, k: oc)
    let inCount = g.channels * g.inPlane
    BLAS.parallelFor(n) { i in
      zeroFloats(dx + i * inCount, inCount)
      col2imAccumulate(dx, cols, ldCols: ld, image: i, geometry: g)
    }
  }
}
