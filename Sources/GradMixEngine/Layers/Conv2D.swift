// Legend: N = batch, C = input channels, H, W = input size, OC = output
// channels, KH, KW = kernel, OH, OW = output size, OHW = OH*OW, CKK = C*KH*KW.

/// 2-D convolution by im2col + one `cblas_sgemm` over the whole batch.
///
/// Parameters: `weight` [OC, C, KH, KW] (PyTorch's layout) and `bias` [OC].
/// The batch is processed in chunks of B images sized to keep the chunk's
/// columns in cache. Forward unfolds a chunk into columns [CKK, B*OHW],
/// multiplies `weight` [OC, CKK] by them into a [OC, B*OHW] product, then
/// scatters it to NCHW while adding the bias. Backward gathers dY to
/// [OC, B*OHW], takes db = dYᵀ·1, recomputes the columns, dW += dYᵀ·colsᵀ
/// and, when dX is wanted, dCols = Wᵀ·dYᵀ folded back by col2im.
/// THNN's `SpatialConvolutionMM` follows the same plan per image.
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
    self.chunkFloats = Conv2D.defaultChunkFloats
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

  /// Images per chunk: the batch is processed in chunks whose column matrix
  /// is about `chunkFloats` floats, so im2col writes and the GEMM reads stay
  /// in cache instead of streaming a [CKK, N*OHW] matrix through memory.
  func imagesPerChunk(_ g: ConvGeometry, batch: Int) -> Int {
    max(1, min(batch, chunkFloats / (g.patch * g.outPlane)))
  }

  /// Target size of one chunk's column matrix, in floats, fixed when the
  /// layer is made (so a workspace sized for it stays valid).
  public let chunkFloats: Int

  /// The default for new layers (tuned with `gradmix bench engine
  /// --conv-chunk-kib`; see README "Engine performance").
  nonisolated(unsafe) public static var defaultChunkFloats = 256 * 1024

  /// Per chunk: columns [CKK, B*OHW], the product or dYᵀ [OC, B*OHW] and a
  /// row of ones [B*OHW] (the bias gradient is one `sgemv` against it),
  /// B = images per chunk.
  public func scratchCount(input: Shape, batch: Int) -> Int {
    let g = checkedGeometry(input)
    return (g.patch + outChannels + 1) * imagesPerChunk(g, batch: batch) * g.outPlane
  }

  // MARK: - Forward

  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    let g = checkedGeometry(inputShape)
    let ohw = g.outPlane, oc = outChannels, relu = fusedReLU
    let chunk = imagesPerChunk(g, batch: n)
    let inCount = g.channels * g.inPlane
    let weight = parameters                    // [OC, CKK]
    let bias = parameters + oc * g.patch       // [OC]
    for first in Swift.stride(from: 0, to: n, by: chunk) {
      let b = min(chunk, n - first), ld = b * ohw
      let cols = scratch                       // [CKK, B*OHW]
      let product = scratch + g.patch * ld     // [OC, B*OHW]
      let xc = x + first * inCount
      BLAS.parallelFor(b) { i in im2col(cols, ldCols: ld, xc, image: i, geometry: g) }
      BLAS.gemm(product, ldc: ld, weight, lda: g.patch, transposeA: false, cols, ldb: ld, transposeB: false,
                m: oc, n: ld, k: g.patch)
      // Scatter [OC, B*OHW] -> y [B, OC, OHW], adding the bias (and the fused ReLU).
      let yc = y + first * oc * ohw
      BLAS.parallelFor(b) { i in
        for o in 0..<oc {
          let src = product + o * ld + i * ohw
          let dst = yc + (i * oc + o) * ohw
          let bo = bias[o]
          if relu {
            for j in 0..<ohw { dst[j] = max(src[j] + bo, 0) }
          } else {
            for j in 0..<ohw { dst[j] = src[j] + bo }
          }
        }
      }
    }
  }

  // MARK: - Backward

  /// Per chunk: gather dY to [OC, B*OHW] (masked by the fused ReLU), db +=
  /// dYᵀ·1, recompute the chunk's columns from x, dW += dYᵀ·colsᵀ, and for
  /// dX: dCols = Wᵀ·dYᵀ (over the columns) folded back by col2im.
  /// Recomputing im2col is cheaper than keeping [CKK, N*OHW] columns from
  /// the forward pass in memory.
  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    let g = checkedGeometry(inputShape)
    let ohw = g.outPlane, oc = outChannels, relu = fusedReLU
    let chunk = imagesPerChunk(g, batch: n)
    let inCount = g.channels * g.inPlane
    let weight = parameters
    let dWeight = dParameters                  // [OC, CKK]
    let dBias = dParameters + oc * g.patch     // [OC]
    for first in Swift.stride(from: 0, to: n, by: chunk) {
      let b = min(chunk, n - first), ld = b * ohw
      let cols = scratch                       // [CKK, B*OHW]
      let dyT = scratch + g.patch * ld         // [OC, B*OHW]
      let ones = dyT + oc * ld                 // [B*OHW]
      let dyc = dy + first * oc * ohw, yc = y + first * oc * ohw
      BLAS.parallelFor(b) { i in
        for o in 0..<oc {
          let src = dyc + (i * oc + o) * ohw
          let dst = dyT + o * ld + i * ohw
          if relu {
            let out = yc + (i * oc + o) * ohw
            for j in 0..<ohw { dst[j] = out[j] > 0 ? src[j] : 0 }
          } else {
            copyFloats(dst, src, ohw)
          }
        }
      }
      ones.update(repeating: 1, count: ld)
      BLAS.gemv(dBias, dyT, lda: ld, transpose: false, ones, m: oc, n: ld, beta: 1)
      let xc = x + first * inCount
      BLAS.parallelFor(b) { i in im2col(cols, ldCols: ld, xc, image: i, geometry: g) }
      BLAS.gemm(dWeight, ldc: g.patch, dyT, lda: ld, transposeA: false, cols, ldb: ld, transposeB: true,
                m: oc, n: g.patch, k: ld, beta: 1)
      guard let dx else { continue }
      BLAS.gemm(cols, ldc: ld, weight, lda: g.patch, transposeA: true, dyT, ldb: ld, transposeB: false,
                m: g.patch, n: ld, k: oc)
      let dxc = dx + first * inCount
      BLAS.parallelFor(b) { i in
        zeroFloats(dxc + i * inCount, inCount)
        col2imAccumulate(dxc, cols, ldCols: ld, image: i, geometry: g)
      }
    }
  }
}
