// Legend: N = batch, C = input channels, H, W = input size, OC = output
// channels, KH, KW = kernel, OH, OW = output size, OHW = OH*OW, CKK = C*KH*KW.

/// 2-D convolution by im2col + one `cblas_sgemm` over the whole batch.
///
/// Parameters: `weight` [OC, C, KH, KW] (PyTorch's layout) and `bias` [OC]
/// (none when `hasBias` is false, as for a convolution followed by
/// BatchNorm inside a residual block, torchvision's `bias=False`).
/// The batch is processed in chunks of B images sized to keep the chunk's
/// columns in cache. Forward unfolds a chunk into columns [CKK, B*OHW],
/// multiplies `weight` [OC, CKK] by them into a [OC, B*OHW] product, then
/// scatters it to NCHW while adding the bias. Backward gathers dY to
/// [OC, B*OHW], takes db = dYᵀ·1, recomputes the columns, dW += dYᵀ·colsᵀ
/// and, when dX is wanted, dCols = Wᵀ·dYᵀ folded back by col2im.
/// THNN's `SpatialConvolutionMM` follows the same plan per image.
/// When a chunk is one image (large planes, as in a residual network), the
/// product [OC, OHW] *is* the image's output and dY is already [OC, OHW], so
/// the scatter and gather copies are skipped; a "same" convolution then
/// also computes dX as a convolution of dY with the flipped kernel
/// (``transposedInputGradient(_:batch:)``) and dW from the same unfolded dY.
/// With ``rowGemm`` those same convolutions, and strided ones, multiply by
/// ``RowGemm`` instead of `cblas_sgemm`, reading the shifted planes of x
/// and dY (3 rows per channel of a 3x3 kernel instead of im2col's 9), and
/// OpenBLAS copies none of their operands; a valid convolution (stride 1,
/// no padding) takes it in forward and, from 8 input channels on, for dW.
public struct Conv2D: StatelessLayer {
  /// The sweep over the input this layer was made for: a convolution takes
  /// one input size, checked once when it is made (as ``Dense`` takes one
  /// `inputSize`), so its passes have no shape to reject.
  public let geometry: ConvGeometry
  public let outChannels: Int
  /// When true the layer applies ReLU to its output as part of the scatter
  /// (set by `Sequential` when a `relu` follows; saves one pass over memory).
  public let fusedReLU: Bool
  /// Whether the layer has a `bias` tensor.
  public let hasBias: Bool
  public let token: String

  /// A convolution of a [C, H, W] `input`.
  ///
  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` when `input`
  ///   is not [C, H, W] or the kernel does not fit it.
  public init(
    input: Shape, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    fusedReLU: Bool = false, hasBias: Bool = true, token: String? = nil, workers: Int? = nil,
    chunkFloats: Int? = nil, rowGemm: Bool? = nil
  ) throws {
    precondition(
      outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
      "Conv2D needs positive channels, kernel and stride and a non-negative padding, got out \(outChannels), kernel \(kernelSize), stride \(stride), padding \(padding)."
    )
    let token =
      token ?? "conv\(outChannels)k\(kernelSize)" + (stride != 1 ? "s\(stride)" : "")
      + (padding != 0 ? "p\(padding)" : "")
    guard input.rank == 3 else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "a convolution needs a [C, H, W] input")
    }
    guard
      let g = ConvGeometry(
        channels: input.dims[0], height: input.dims[1], width: input.dims[2],
        kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: padding)
    else {
      throw ModelSpecError.doesNotFit(
        layer: token, input: input,
        reason:
          "a \(kernelSize)x\(kernelSize) kernel with padding \(padding) does not fit \(input.dims[1])x\(input.dims[2])")
    }
    self.geometry = g; self.outChannels = outChannels; self.fusedReLU = fusedReLU
    self.hasBias = hasBias; self.token = token
    self.chunkFloats = chunkFloats ?? Conv2D.defaultChunkFloats
    self.workers = workers ?? BLAS.threads
    self.rowGemm = rowGemm ?? RowGemm.available
    precondition(!self.rowGemm || RowGemm.available, "Conv2D: the row GEMM does not run on this machine.")
    rowGemmRows =
      self.rowGemm && (stride > 1 || isSamePlane(g) || isValidPlane(g)) ? RowGemmRows(outChannels: outChannels, g) : nil
  }

  public var inChannels: Int { geometry.channels }
  public var kernelSize: Int { geometry.kernelH }
  public var stride: Int { geometry.stride }
  public var padding: Int { geometry.padding }
  /// The [C, H, W] input the layer was made for.
  public var inputShape: Shape { Shape([geometry.channels, geometry.height, geometry.width]) }
  /// The [OC, OH, OW] output for ``inputShape``.
  public var outputShape: Shape { Shape([outChannels, geometry.outH, geometry.outW]) }

  public var parameterShapes: [ParameterShape] {
    let weight = ParameterShape("weight", [outChannels, inChannels, kernelSize, kernelSize])
    return hasBias ? [weight, ParameterShape("bias", [outChannels])] : [weight]
  }

  public func outputShape(for input: Shape) throws -> Shape {
    guard input == inputShape else {
      throw ModelSpecError.doesNotFit(layer: token, input: input, reason: "the layer was made for \(inputShape)")
    }
    return outputShape
  }

  /// Images per chunk: each worker processes its share of the batch in
  /// chunks whose column matrix is about `chunkFloats` floats, so im2col
  /// writes and the GEMM reads stay in cache instead of streaming a
  /// [CKK, N*OHW] matrix through memory. A strided convolution with the
  /// ``rowGemm`` takes one image per chunk (its planes are per image).
  func imagesPerChunk(_ g: ConvGeometry, batch: Int) -> Int {
    rowGemm && g.stride > 1 ? 1 : max(1, min(batch, chunkFloats / (g.patch * g.outPlane)))
  }

  /// Target size of one chunk's column matrix, in floats, fixed when the
  /// layer is made (so a workspace sized for it stays valid).
  public let chunkFloats: Int

  /// Whether the layer multiplies with ``RowGemm`` where its geometry
  /// allows instead of `cblas_sgemm`: a same convolution processed one image
  /// per chunk (the transposed dX path) and a strided one (forward: the
  /// weight by the image's shifted planes; backward: ``rowGemmBackwardImage``;
  /// a strided convolution's dX stays Wᵀ·dY by `cblas_sgemm` and col2im),
  /// and a valid one (``forwardUsesRowGemm(_:batch:)``,
  /// ``takesWeightTaps(_:batch:)``); default: where the kernel runs
  /// (AVX-512F). Fixed when the layer is made, so a workspace sized for it
  /// stays valid.
  public let rowGemm: Bool
  /// The row GEMM's offsets (nil: no batch takes it, ``backwardMayUseRowGemm``).
  let rowGemmRows: RowGemmRows?

  /// Workers (threads) the layer splits a batch over, fixed when the layer
  /// is made (default `BLAS.threads`), so a workspace sized for it stays valid.
  public let workers: Int

  /// The default for new layers (tuned with `gradmix bench engine
  /// --conv-chunk-kib`; see README "Engine performance").
  nonisolated(unsafe) public static var defaultChunkFloats = 256 * 1024

  /// Floats of one worker's scratch: columns [CKK, B*OHW], the product or
  /// dYᵀ [OC, B*OHW], a row of ones [B*OHW] (the bias gradient is one
  /// `sgemv` against it), and a private dW, db [OC*CKK + OC].
  /// With the transposed dX path also dW in the order of dY's columns
  /// [OC*KK, C] (``backwardImages``).
  func workerScratch(_ g: ConvGeometry, batch: Int) -> Int {
    columnArea(g, batch: batch)
      + (outChannels + 1) * imagesPerChunk(g, batch: batch) * g.outPlane + gradientCount(g)
      + (transposedInputGradient(g, batch: batch) || takesWeightTaps(g, batch: batch) ? outChannels * g.patch : 0)
  }

  /// Floats of a worker's column area: the column matrix [rows, B*OHW], or
  /// on the row GEMM's path what ``rowGemmColumnArea(_:)`` needs if more.
  func columnArea(_ g: ConvGeometry, batch: Int) -> Int {
    let matrix = columnRows(g, batch: batch) * imagesPerChunk(g, batch: batch) * g.outPlane
    return takesWeightTaps(g, batch: batch) ? max(matrix, rowGemmColumnArea(g)) : matrix
  }

  /// Whether backward computes dW tap by tap with the row GEMM
  /// (``rowGemmWeightTaps``): the ``usesRowGemm(_:batch:)`` batches, and a
  /// valid convolution with at least 8 input channels (the kernel's 8-row
  /// tiles; each image's taps then read its planes and dYᵀ in place, where
  /// the im2col path unfolds x again and OpenBLAS copies the columns).
  /// Choice (issue 30): the digit CNN's conv64 (32 channels) takes it, its
  /// first convolution (3 channels: 1-row tiles, bound by loads) does not.
  func takesWeightTaps(_ g: ConvGeometry, batch: Int) -> Bool {
    usesRowGemm(g, batch: batch) || rowGemmRows != nil && isValidPlane(g) && g.channels >= 8
  }

  /// Whether some batch's backward pass takes the one-image ``rowGemm`` path
  /// (``usesRowGemm(_:batch:)``: a same or strided convolution on a machine
  /// that runs it); ``ConvPool`` fuses only convolutions whose backward never
  /// does (its gather writes the chunk layout [OC, B*OHW], which a valid
  /// convolution's tap-by-tap dW reads as it is).
  public var backwardMayUseRowGemm: Bool { rowGemmRows != nil && !isValidPlane(geometry) }

  /// Whether this batch's forward pass multiplies with the ``rowGemm``: the
  /// batches whose backward does (``usesRowGemm(_:batch:)``) and every batch
  /// of a valid convolution (stride 1, no padding), one image at a time on
  /// its shifted planes, while its backward keeps im2col and `cblas_sgemm`.
  /// Choice (issue 30, the digit CNN's step): the forward pass then writes
  /// C·KW·H·OW floats of planes per image instead of im2col's C·KK·OHW (10,080
  /// instead of 43,200 for the first convolution) and OpenBLAS copies none
  /// of its operands; the backward pass's dW = dY·colsᵀ has K = B·OHW (the
  /// tap-by-tap form would multiply C = 3 rows) and stays on OpenBLAS.
  func forwardUsesRowGemm(_ g: ConvGeometry, batch: Int) -> Bool {
    usesRowGemm(g, batch: batch) || rowGemmRows != nil && isValidPlane(g)
  }

  /// Whether this batch takes the ``rowGemm`` path: a same convolution
  /// processed one image per chunk, or a strided one (always one image per
  /// chunk with the row GEMM).
  func usesRowGemm(_ g: ConvGeometry, batch: Int) -> Bool {
    rowGemm && (g.stride > 1 || transposedInputGradient(g, batch: batch))
  }

  /// Rows of a worker's column matrix: CKK, or OC*KK when backward unfolds
  /// dY instead (``transposedInputGradient(_:batch:)``).
  func columnRows(_ g: ConvGeometry, batch: Int) -> Int {
    transposedInputGradient(g, batch: batch) ? max(g.patch, outChannels * g.kernelH * g.kernelW) : g.patch
  }

  /// Whether backward computes dX as a convolution of dY with the flipped,
  /// transposed kernel (dX = conv(dY, W̃), W̃[c, o, kh, kw] = W[o, c, K-1-kh,
  /// K-1-kw], same padding) instead of dCols = Wᵀ·dY folded back by col2im.
  /// Used for "same" convolutions (stride 1, output as large as the input,
  /// so K = 2p + 1 and the flipped kernel needs the same padding) processed
  /// one image per chunk: the GEMM writes the image's dX directly and has
  /// K = OC*KK instead of OC (a GEMM with an inner size of 32-64 runs at
  /// 60-75% of the speed of this one here), and neither col2im nor zeroing
  /// dX is needed. Choice (measured with `gradmix bench engine --spec
  /// conv16k3p1-bn-relu-res32-res64s2-res64-gap-fc10 --input 3,32,32`).
  func transposedInputGradient(_ g: ConvGeometry, batch: Int) -> Bool {
    isSamePlane(g) && imagesPerChunk(g, batch: batch) == 1
  }

  /// Floats of dW and db.
  func gradientCount(_ g: ConvGeometry) -> Int {
    outChannels * (g.patch + (hasBias ? 1 : 0))
  }

  /// The most any batch of 1...`batch` images uses: a workspace made for
  /// `batch` also runs smaller batches, and a smaller one can need more (a
  /// chunk of one image switches a same convolution to the transposed dX
  /// path, whose columns have OC*KK rows instead of CKK). The use depends on
  /// the batch only through the chunk size, constant from `chunkFloats /
  /// (CKK*OHW)` images on.
  public func scratchCount(input: Shape, batch: Int) -> Int {
    let g = geometry
    let constantFrom = max(1, chunkFloats / (g.patch * g.outPlane))
    return (1...max(1, min(batch, constantFrom))).reduce(0) { most, n in
      max(
        most, workers * workerScratch(g, batch: n) + (transposedInputGradient(g, batch: n) ? outChannels * g.patch : 0))
    }
  }

  /// The workers used for `batch` images and the images of worker w.
  func partition(batch n: Int) -> (workers: Int, range: (Int) -> Range<Int>) {
    let used = max(1, min(workers, n))
    return (used, { w in (n * w / used)..<(n * (w + 1) / used) })
  }

  // MARK: - Forward

  /// The batch is split between `workers` threads (contiguous image
  /// ranges); each runs im2col, a single-threaded GEMM and the scatter on its
  /// own chunks, so both cores work all the time and no GEMM is split.
  public func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, mode: Mode, rng: inout RNG
  ) {
    forward(output: y, input: x, parameters: parameters, scratch: scratch, batch: n, epilogue: nil)
  }

  /// What a fused consumer does with a chunk's product in place of the
  /// scatter: `(product [OC, B*OHW] without bias, ld = B*OHW, first image, B)`.
  typealias ChunkEpilogue = (UnsafeMutablePointer<Float>, Int, Int, Int) -> Void

  /// The forward pass; with an `epilogue` the GEMM always writes the
  /// chunk's product to scratch and the epilogue consumes it (``ConvPool``),
  /// and `y` is not written.
  func forward(
    output y: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, parameters: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, batch n: Int, epilogue: ChunkEpilogue?
  ) {
    let g = geometry
    let (used, range) = partition(batch: n)
    let perWorker = workerScratch(g, batch: n)
    BLAS.parallelWorkers(used) { w in
      forwardImages(
        range(w), y: y, x: x, parameters: parameters, scratch: scratch + w * perWorker, g: g, batch: n,
        epilogue: epilogue)
    }
  }

  func forwardImages(
    _ images: Range<Int>, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, parameters: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, g: ConvGeometry, batch n: Int, epilogue: ChunkEpilogue?
  ) {
    let ohw = g.outPlane, oc = outChannels, relu = fusedReLU
    let chunk = imagesPerChunk(g, batch: n)
    let inCount = g.channels * g.inPlane
    let weight = parameters  // [OC, CKK]
    let bias: UnsafePointer<Float>? = hasBias ? parameters + oc * g.patch : nil  // [OC]
    let rowGemmRows = forwardUsesRowGemm(g, batch: n) ? rowGemmRows : nil
    for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: chunk) {
      let b = min(chunk, images.upperBound - first), ld = b * ohw
      let cols = scratch  // [CKK, B*OHW], or the shifted planes [C, KW, (H+2p)*W]
      let product = scratch + g.patch * ld  // [OC, B*OHW]
      let xc = x + first * inCount
      let yc = y + first * oc * ohw
      if let rowGemmRows {
        // One image at a time: y_i [OC, OHW] = W · planes(x_i), written to y or, for
        // a fused consumer, to the product area one image at a time.
        recordEquivalentGemm(m: oc, n: ld, k: g.patch, transposeB: false, beta: 0)
        for i in 0..<b {
          let out = epilogue == nil ? yc + i * oc * ohw : product
          rowGemmRows.xPlanes.write(cols, xc + i * inCount)
          rowGemmRows.xRows.withUnsafeBufferPointer {
            RowGemm.multiply(
              out, ldc: ohw, weight, lda: g.patch, cols, rows: $0.baseAddress!, m: oc, n: ohw, k: g.patch,
              accumulate: false)
          }
          if let epilogue {
            epilogue(product, ohw, first + i, 1)
          } else if bias != nil || relu {
            addBias(out, bias, relu: relu, planes: oc, count: ohw)
          }
        }
        continue
      }
      for i in 0..<b { im2col(cols, ldCols: ld, xc, image: i, geometry: g) }
      if let epilogue {
        BLAS.gemm(
          product, ldc: ld, weight, lda: g.patch, transposeA: false, cols, ldb: ld, transposeB: false,
          m: oc, n: ld, k: g.patch)
        epilogue(product, ld, first, b)
        continue
      }
      if b == 1 {
        // One image: its product [OC, OHW] is its output, so the GEMM writes y directly.
        BLAS.gemm(
          yc, ldc: ld, weight, lda: g.patch, transposeA: false, cols, ldb: ld, transposeB: false,
          m: oc, n: ld, k: g.patch)
        if bias != nil || relu { addBias(yc, bias, relu: relu, planes: oc, count: ohw) }
        continue
      }
      BLAS.gemm(
        product, ldc: ld, weight, lda: g.patch, transposeA: false, cols, ldb: ld, transposeB: false,
        m: oc, n: ld, k: g.patch)
      // Scatter [OC, B*OHW] -> y [B, OC, OHW], adding the bias (and the fused ReLU).
      for i in 0..<b {
        for o in 0..<oc {
          let src = product + o * ld + i * ohw
          let dst = yc + (i * oc + o) * ohw
          let bo = bias?[o] ?? 0
          if relu {
            for j in 0..<ohw { dst[j] = max(src[j] + bo, 0) }
          } else {
            for j in 0..<ohw { dst[j] = src[j] + bo }
          }
        }
      }
    }
  }

  /// `planes[o] = planes[o] + bias[o]` for each of `planes` planes of
  /// `count` floats, then ReLU when `relu` (no bias: ReLU alone).
  func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>?, relu: Bool, planes: Int, count: Int) {
    for o in 0..<planes {
      let dst = y + o * count
      let bo = bias?[o] ?? 0
      if relu {
        for j in 0..<count { dst[j] = max(dst[j] + bo, 0) }
      } else {
        for j in 0..<count { dst[j] = dst[j] + bo }
      }
    }
  }

  // MARK: - Backward

  /// Per chunk: gather dY to [OC, B*OHW] (masked by the fused ReLU), db +=
  /// dYᵀ·1, recompute the chunk's columns from x, dW += dYᵀ·colsᵀ, and for
  /// dX: dCols = Wᵀ·dYᵀ (over the columns) folded back by col2im, or for a
  /// same convolution one image at a time dX = W̃·columns(dY).
  /// Recomputing im2col is cheaper than keeping [CKK, N*OHW] columns from
  /// the forward pass in memory. With several workers, worker 0 adds into
  /// the gradient buffer and the others into private dW, db that are added
  /// in worker order afterwards (a fixed order: the result depends on the
  /// thread count, not on timing).
  public func backward(
    dInput dx: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int
  ) {
    backward(
      dInput: dx, accumulate: false, dParameters: dParameters, dOutput: dy, input: x, output: y,
      parameters: parameters, scratch: scratch, inputShape: inputShape, batch: n)
  }

  /// What a fused consumer writes in place of the gather of dY:
  /// `(dYᵀ [OC, B*OHW] with the ReLU's mask applied, ld = B*OHW, first image, B)`.
  typealias ChunkGather = (UnsafeMutablePointer<Float>, Int, Int, Int) -> Void

  /// The backward pass; with `accumulate` it *adds* dX into `dx` instead of
  /// overwriting it (a residual block's projection shortcut adds its input
  /// gradient to the main path's this way, with no temporary and no extra
  /// pass). For a kernel no larger than its stride (the 1x1 projection)
  /// every element of dX receives one term, so the sums are the same as
  /// computing dX apart and adding it. With `gatherDY` (``ConvPool``) the
  /// consumer writes each chunk's dYᵀ.
  func backward(
    dInput dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dParameters: UnsafeMutablePointer<Float>?,
    dOutput dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch n: Int, gatherDY: ChunkGather? = nil
  ) {
    let g = geometry
    let (used, range) = partition(batch: n)
    let perWorker = workerScratch(g, batch: n)
    let gradCount = gradientCount(g)
    let flipped = scratch + workers * perWorker  // [C, OC*KK] when transposed
    if dx != nil && transposedInputGradient(g, batch: n) {
      let kk = kernelSize * kernelSize, c = inChannels, oc = outChannels
      for o in 0..<oc {
        for ch in 0..<c {
          let src = parameters + (o * c + ch) * kk, dst = flipped + ch * oc * kk + o * kk
          for t in 0..<kk { dst[t] = src[kk - 1 - t] }
        }
      }
    }
    BLAS.parallelWorkers(used) { w in
      let s = scratch + w * perWorker
      // nil for a frozen layer: no dW, db at all.
      let dParams = dParameters.map { w == 0 ? $0 : s + perWorker - gradCount }
      if w > 0, let dParams { zeroFloats(dParams, gradCount) }
      backwardImages(
        range(w), dx: dx, accumulate: accumulate, dParameters: dParams, dy: dy, x: x, y: y, parameters: parameters,
        scratch: s, flipped: flipped, columnWeights: s + perWorker - gradCount - outChannels * g.patch, g: g,
        batch: n, gatherDY: gatherDY)
    }
    // Each element adds the workers' sums in worker order, whichever thread does it.
    if used > 1, let dParameters {
      BLAS.parallelRanges(gradCount, grain: 8192) { r in
        for w in 1..<used {
          addFloats(dParameters + r.lowerBound, scratch + w * perWorker + perWorker - gradCount + r.lowerBound, r.count)
        }
      }
    }
  }

  func backwardImages(
    _ images: Range<Int>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dParameters: UnsafeMutablePointer<Float>?,
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>, parameters: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, flipped: UnsafePointer<Float>, columnWeights: UnsafeMutablePointer<Float>,
    g: ConvGeometry, batch n: Int, gatherDY: ChunkGather?
  ) {
    let ohw = g.outPlane, oc = outChannels, relu = fusedReLU
    let transposed = transposedInputGradient(g, batch: n)
    let kk = g.kernelH * g.kernelW
    let gT =
      transposed
      ? ConvGeometry(
        channels: oc, height: g.outH, width: g.outW, kernelH: g.kernelH, kernelW: g.kernelW, stride: 1,
        padding: g.padding) : nil
    // With the transposed dX path, dW comes from the columns of dY that
    // path unfolds anyway: dW[o, c, kh, kw] = Σ_j dY[o, j + (p-kh, p-kw)]·x[c, j]
    // is row (o, K-1-kh, K-1-kw) of columns(dY)·Xᵀ [OC*KK, C], so x is never
    // unfolded in backward. The worker sums [OC*KK, C] over its images and
    // adds it into dW at the end (sums in another order than per image
    // into dW: float rounding). Choice: measured in
    // results/screens/2026-12-05-engine-profile.md.
    let rowPath = usesRowGemm(g, batch: n), tapPath = takesWeightTaps(g, batch: n)
    let dWColumns: UnsafeMutablePointer<Float>? =
      (gT != nil && dx != nil || tapPath) && dParameters != nil ? columnWeights : nil
    if let dWColumns { zeroFloats(dWColumns, oc * g.patch) }
    let chunk = imagesPerChunk(g, batch: n)
    let inCount = g.channels * g.inPlane
    let weight = parameters
    let rowOffsets = rowPath ? rowGemmRows : nil
    let area = columnArea(g, batch: n)
    for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: chunk) {
      let b = min(chunk, images.upperBound - first), ld = b * ohw
      let cols = scratch  // [CKK, B*OHW]
      let gathered = scratch + area  // [OC, B*OHW]
      let ones = gathered + oc * ld  // [B*OHW]
      let dyc = dy + first * oc * ohw, yc = y + first * oc * ohw
      let dyT: UnsafePointer<Float>  // [OC, B*OHW]
      if let gatherDY {
        gatherDY(gathered, ld, first, b)
        dyT = UnsafePointer(gathered)
      } else if b == 1 && !relu {
        dyT = dyc  // one image's dY [OC, OHW] is already dYᵀ
      } else {
        for i in 0..<b {
          for o in 0..<oc {
            let src = dyc + (i * oc + o) * ohw
            let dst = gathered + o * ld + i * ohw
            if relu {
              maskedCopyFloats(dst, src, mask: yc + (i * oc + o) * ohw, ohw)
            } else {
              copyLongFloats(dst, src, ohw)
            }
          }
        }
        dyT = UnsafePointer(gathered)
      }
      if let dWeight = dParameters {  // [OC, CKK], then dBias [OC]; nil for a frozen layer
        if hasBias {
          ones.update(repeating: 1, count: ld)
          BLAS.gemv(dWeight + oc * g.patch, dyT, lda: ld, transpose: false, ones, m: oc, n: ld, beta: 1)
        }
        if dWColumns == nil {
          let xc = x + first * inCount
          for i in 0..<b { im2col(cols, ldCols: ld, xc, image: i, geometry: g) }
          BLAS.gemm(
            dWeight, ldc: g.patch, dyT, lda: ld, transposeA: false, cols, ldb: ld, transposeB: true,
            m: oc, n: g.patch, k: ld, beta: 1)
        }
      }
      if let rowOffsets {
        // A strided convolution's dX takes the col2im path below.
        rowGemmBackwardImage(
          dx: transposed ? dx.map { $0 + first * inCount } : nil, accumulate: accumulate, dWeightTaps: dWColumns,
          dy: dyT, x: x + first * inCount, flipped: flipped, scratch: cols, rows: rowOffsets, g: g)
        if transposed { continue }
      } else if tapPath, let taps = dWColumns, let rows = rowGemmRows {
        // A valid convolution: each image's taps from its planes and its dYᵀ rows (stride ld).
        recordEquivalentGemm(m: oc, n: g.patch, k: ld, transposeB: true, beta: 1)
        for i in 0..<b {
          rowGemmWeightTaps(
            taps, dy: dyT + i * ohw, ldy: ld, x: x + (first + i) * inCount, scratch: cols, rows: rows, g: g)
        }
      }
      guard let dx else { continue }
      if let gT {
        // dX [C, HW] = W̃ [C, OC*KK] · columns of dY [OC*KK, HW] (dY is [OC, OHW] here, one image).
        im2col(cols, ldCols: ld, dyT, image: 0, geometry: gT)
        if let dWColumns {
          BLAS.gemm(
            dWColumns, ldc: g.channels, cols, lda: ld, transposeA: false, x + first * inCount, ldb: ld,
            transposeB: true, m: oc * kk, n: g.channels, k: ld, beta: 1)
        }
        BLAS.gemm(
          dx + first * inCount, ldc: ld, flipped, lda: oc * g.kernelH * g.kernelW, transposeA: false,
          cols, ldb: ld, transposeB: false, m: g.channels, n: ld, k: oc * g.kernelH * g.kernelW,
          beta: accumulate ? 1 : 0)
        continue
      }
      BLAS.gemm(
        cols, ldc: ld, weight, lda: g.patch, transposeA: true, dyT, ldb: ld, transposeB: false,
        m: g.patch, n: ld, k: oc)
      let dxc = dx + first * inCount
      for i in 0..<b {
        if !accumulate { zeroLongFloats(dxc + i * inCount, inCount) }
        col2imAccumulate(dxc, cols, ldCols: ld, image: i, geometry: g)
      }
    }
    if tapPath, let dWColumns, let dWeight = dParameters {
      addWeightTaps(dWeight, dWColumns, g: g)
    } else if let dWColumns, let dWeight = dParameters {
      let c = g.channels
      for o in 0..<oc {
        for ch in 0..<c {
          let dst = dWeight + (o * c + ch) * kk, src = dWColumns + o * kk * c + ch
          for t in 0..<kk { dst[t] += src[(kk - 1 - t) * c] }
        }
      }
    }
  }
}
