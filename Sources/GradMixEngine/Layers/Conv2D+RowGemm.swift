// Legend: see Conv2D.swift; KK = KH*KW, L = (H + 2p)*W (a shifted plane,
// see RowGemm.swift).

/// What a convolution's passes with the row GEMM multiply with, made once
/// with the layer (its geometry is fixed): the layout of x's shifted planes
/// and the offsets of the column matrix's rows in them (forward), for a same
/// convolution the offsets of dY's shifted planes in the flipped weight's
/// order (o, kh, kw), and the OHW rows of dYᵀ [OHW, OC].
struct RowGemmRows: Sendable {
  let xPlanes: ShiftedPlanes
  let xRows: [Int]  // [CKK]
  let dyPlanes: ShiftedPlanes?
  let dyPlaneRows: [Int]  // [OC*KK], empty for a strided convolution
  let pixels: [Int]  // [OHW]

  init(outChannels oc: Int, _ g: ConvGeometry) {
    xPlanes = ShiftedPlanes(g)
    xRows = xPlanes.rowOffsets()
    dyPlanes = isSamePlane(g) ? ShiftedPlanes(Conv2D.outputGeometry(g, outChannels: oc)) : nil
    dyPlaneRows = dyPlanes?.rowOffsets() ?? []
    pixels = (0..<g.outPlane).map { $0 * oc }
  }
}

extension Conv2D {
  /// The same sweep over dY [OC, OH, OW] (a same convolution's output is as
  /// large as its input).
  static func outputGeometry(_ g: ConvGeometry, outChannels: Int) -> ConvGeometry {
    ConvGeometry(
      channels: outChannels, height: g.outH, width: g.outW, kernelH: g.kernelH, kernelW: g.kernelW, stride: 1,
      padding: g.padding)!
  }

  /// Floats the row GEMM's backward pass uses of a worker's column area:
  /// the shifted planes of x, of dY (a same convolution), and dYᵀ [OHW, OC]
  /// (forward uses the first part only).
  func rowGemmColumnArea(_ g: ConvGeometry) -> Int {
    ShiftedPlanes(g).count
      + (isSamePlane(g) ? ShiftedPlanes(Self.outputGeometry(g, outChannels: outChannels)).count : 0) + g.outPlane
      * outChannels
  }

  /// One image's backward pass with the row GEMM (``rowGemm``): no column
  /// matrix of 9 rows per channel is built and OpenBLAS copies nothing.
  /// - dW: tap (kh, kw) of dW is `dW[:, :, kh, kw]ᵀ [C, OC] = Σ_j
  ///   x_(kh,kw)[c, j]·dYᵀ[j, o]`, where row c of x_(kh,kw) is row (c, kh,
  ///   kw) of x's column matrix, read in x's shifted planes (a constant
  ///   stride between channels); the KK taps [KK, C, OC] are summed over
  ///   the worker's images and added into dW at the end (``addWeightTaps``).
  /// - dX of a same convolution (`dx` nil otherwise: the caller's col2im
  ///   path) [C, HW] = W̃ [C, OC*KK] · the column matrix of dY, read in dY's
  ///   shifted planes (``RowGemm``).
  /// Choice (issue 30): the OpenBLAS form unfolded dY into OC*KK rows and
  /// OpenBLAS copied that matrix and x again for dW (`sgemm_oncopy`,
  /// `sgemm_incopy`: 8% of the step's samples).
  func rowGemmBackwardImage(
    dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dWeightTaps: UnsafeMutablePointer<Float>?,
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, flipped: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, rows: RowGemmRows, g: ConvGeometry
  ) {
    let oc = outChannels, c = g.channels, ohw = g.outPlane, kk = g.kernelH * g.kernelW
    let dyPlanes = scratch + rows.xPlanes.count  // after x's shifted planes
    if let taps = dWeightTaps {  // [KK, C, OC]
      recordEquivalentGemm(m: oc, n: g.patch, k: ohw, transposeB: true, beta: 1)
      rowGemmWeightTaps(taps, dy: dy, ldy: ohw, x: x, scratch: scratch, rows: rows, g: g)
    }
    guard let dx, let dyLayout = rows.dyPlanes else { return }
    recordEquivalentGemm(m: c, n: ohw, k: oc * kk, transposeB: false, beta: accumulate ? 1 : 0)
    dyLayout.write(dyPlanes, dy)
    rows.dyPlaneRows.withUnsafeBufferPointer {
      RowGemm.multiply(
        dx, ldc: ohw, flipped, lda: oc * kk, dyPlanes, rows: $0.baseAddress!, m: c, n: ohw, k: oc * kk,
        accumulate: accumulate)
    }
  }

  /// Records, for the sgemm-only bound (``GemmRecorder``), the call the
  /// im2col path makes for a product of this layer the row GEMM computes:
  /// `C [M, N] = A [M, K] · B` (B [K, N], or [N, K] when `transposeB`), all
  /// row-major and dense.
  func recordEquivalentGemm(m: Int, n: Int, k: Int, transposeB: Bool, beta: Float) {
    BLAS.recordEquivalent(
      GemmCall(
        m: m, n: n, k: k, lda: k, ldb: transposeB ? k : n, ldc: n, transposeA: false, transposeB: transposeB,
        beta: beta))
  }

  /// Adds one image's dW taps into `taps` [KK, C, OC]: tap (kh, kw) +=
  /// x_(kh,kw) [C, OHW] · dYᵀ [OHW, OC], x_(kh,kw) read in x's shifted
  /// planes and dYᵀ transposed from `dy` [OC, OHW] (rows `ldy` apart) into
  /// the scratch after the planes (``rowGemmColumnArea(_:)``).
  func rowGemmWeightTaps(
    _ taps: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, ldy: Int, x: UnsafePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, rows: RowGemmRows, g: ConvGeometry
  ) {
    let oc = outChannels, c = g.channels, ohw = g.outPlane, kw = g.kernelW
    let xPlanes = scratch, dyT = scratch + rows.xPlanes.count + (rows.dyPlanes?.count ?? 0)  // [OHW, OC]
    rows.xPlanes.write(xPlanes, x)
    RowGemm.transpose(dyT, ldd: oc, dy, lds: ldy, rows: oc, cols: ohw)
    rows.pixels.withUnsafeBufferPointer { pixels in
      for kh in 0..<g.kernelH {
        for w in 0..<kw {
          RowGemm.multiply(
            taps + (kh * kw + w) * c * oc, ldc: oc, xPlanes + rows.xPlanes.offset(channel: 0, kh: kh, kw: w),
            lda: rows.xPlanes.channelStride, dyT, rows: pixels.baseAddress!, m: c, n: oc, k: ohw,
            accumulate: true)
        }
      }
    }
  }

  /// dW[o, c, kh, kw] += taps[(kh·KW + kw), c, o].
  func addWeightTaps(_ dWeight: UnsafeMutablePointer<Float>, _ taps: UnsafePointer<Float>, g: ConvGeometry) {
    let oc = outChannels, c = g.channels, kk = g.kernelH * g.kernelW
    for o in 0..<oc {
      for ch in 0..<c {
        let dst = dWeight + (o * c + ch) * kk, src = taps + ch * oc + o
        for t in 0..<kk { dst[t] += src[t * c * oc] }
      }
    }
  }
}
