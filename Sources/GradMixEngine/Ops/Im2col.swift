// Legend: see ConvGeometry. Column matrices are row-major [CKK, N * OHW]:
// row r = (c * KH + kh) * KW + kw, column n * OHW + oh * OW + ow.

/// Unfolds image `n` of `x` [N, C, H, W] into its columns of
/// `cols` [CKK, ldCols]: `cols[r, n*OHW + oh*OW + ow] = x[n, c, oh*s-p+kh, ow*s-p+kw]`
/// (zero outside the image). THNN's `unfolded_copy` does the same.
@inlinable
public func im2col(
  _ cols: UnsafeMutablePointer<Float>, ldCols: Int,
  _ x: UnsafePointer<Float>, image n: Int, geometry g: ConvGeometry
) {
  let ohw = g.outPlane
  let image = x + n * g.channels * g.inPlane
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let row = (c * g.kernelH + kh) * g.kernelW + kw
        let dst = cols + row * ldCols + n * ohw
        // Output columns ow whose input column iw = ow*s - p + kw is inside [0, W).
        let owLo = g.padding > kw ? (g.padding - kw + g.stride - 1) / g.stride : 0
        let owHi = im2colUpperBound(g, kw)  // exclusive
        for oh in 0..<g.outH {
          let ih = oh * g.stride - g.padding + kh
          let d = dst + oh * g.outW
          if ih < 0 || ih >= g.height || owLo >= owHi {
            zeroFloats(d, g.outW)
            continue
          }
          if owLo > 0 { zeroFloats(d, owLo) }
          let src = plane + ih * g.width - g.padding + kw
          if g.stride == 1 {
            copyFloats(d + owLo, src + owLo, owHi - owLo)
          } else {
            var ow = owLo
            while ow < owHi { d[ow] = src[ow * g.stride]; ow += 1 }
          }
          if owHi < g.outW { zeroFloats(d + owHi, g.outW - owHi) }
        }
      }
    }
  }
}

/// Folds the columns of image `n` back, *adding* into `dx` [N, C, H, W]
/// (the adjoint of ``im2col``; THNN's `unfolded_acc`).
@inlinable
public func col2imAccumulate(
  _ dx: UnsafeMutablePointer<Float>,
  _ cols: UnsafePointer<Float>, ldCols: Int, image n: Int, geometry g: ConvGeometry
) {
  let ohw = g.outPlane
  let image = dx + n * g.channels * g.inPlane
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let row = (c * g.kernelH + kh) * g.kernelW + kw
        let src = cols + row * ldCols + n * ohw
        let owLo = g.padding > kw ? (g.padding - kw + g.stride - 1) / g.stride : 0
        let owHi = im2colUpperBound(g, kw)
        guard owLo < owHi else { continue }
        for oh in 0..<g.outH {
          let ih = oh * g.stride - g.padding + kh
          if ih < 0 || ih >= g.height { continue }
          let s = src + oh * g.outW
          let d = plane + ih * g.width - g.padding + kw
          if g.stride == 1 {
            addFloats(d + owLo, s + owLo, owHi - owLo)
          } else {
            var ow = owLo
            while ow < owHi { d[ow * g.stride] += s[ow]; ow += 1 }
          }
        }
      }
    }
  }
}

/// One past the last output column whose input column `ow*s - p + kw` is < W.
@inlinable
func im2colUpperBound(_ g: ConvGeometry, _ kw: Int) -> Int {
  let last = g.width - 1 + g.padding - kw  // may be negative with wide padding
  return last < 0 ? 0 : min(g.outW, last / g.stride + 1)
}
