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
  let imageCount = g.channels * g.inPlane
  let image = x + n * imageCount
  let samePlane = isSamePlane(g)
  if g.padding == 0 && g.stride == 1 {
    im2colValid(cols, ldCols: ldCols, image, image: n, geometry: g)
    return
  }
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let row = (c * g.kernelH + kh) * g.kernelW + kw
        let dst = cols + row * ldCols + n * ohw
        // Output columns ow whose input column iw = ow*s - p + kw is inside [0, W).
        let owLo = g.padding > kw ? (g.padding - kw + g.stride - 1) / g.stride : 0
        let owHi = im2colUpperBound(g, kw)  // exclusive
        if samePlane {
          im2colSamePlaneRow(dst, plane, kh: kh, kw: kw, owLo: owLo, owHi: owHi, geometry: g)
          continue
        }
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
          } else if g.stride == 2 {
            // Even lanes of 16 loaded floats; the load stays inside the image.
            var ow = owLo
            let srcIndex = c * g.inPlane + ih * g.width - g.padding + kw  // of src in the image
            while ow + 8 <= owHi && srcIndex + 2 * ow + 16 <= imageCount {
              let v = UnsafeRawPointer(src + 2 * ow).loadUnaligned(as: SIMD16<Float>.self)
              UnsafeMutableRawPointer(d + ow).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
              ow += 8
            }
            while ow < owHi { d[ow] = src[2 * ow]; ow += 1 }
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
/// (the adjoint of ``im2col``; THNN's `unfolded_acc`). For a "same"
/// convolution (``isSamePlane(_:)``) the column entries that fall on the
/// padding are set to 0 on the way (`cols` is the caller's scratch).
@inlinable
public func col2imAccumulate(
  _ dx: UnsafeMutablePointer<Float>,
  _ cols: UnsafeMutablePointer<Float>, ldCols: Int, image n: Int, geometry g: ConvGeometry
) {
  let ohw = g.outPlane
  let image = dx + n * g.channels * g.inPlane
  let samePlane = isSamePlane(g)
  if g.padding == 0 && g.stride == 1 {
    col2imValid(image, cols, ldCols: ldCols, image: n, geometry: g)
    return
  }
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let row = (c * g.kernelH + kh) * g.kernelW + kw
        let src = cols + row * ldCols + n * ohw
        let owLo = g.padding > kw ? (g.padding - kw + g.stride - 1) / g.stride : 0
        let owHi = im2colUpperBound(g, kw)
        guard owLo < owHi else { continue }
        if samePlane {
          col2imSamePlaneRow(plane, src, kh: kh, kw: kw, owLo: owLo, owHi: owHi, geometry: g)
          continue
        }
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

// MARK: - Same-size planes

/// True for stride 1 with an output row as wide as the input row (padding
/// (K-1)/2, e.g. 3x3 pad 1): output row oh of a kernel offset (kh, kw) reads
/// input row oh - p + kh from column kw - p on, so consecutive output rows
/// read consecutive input rows and a whole plane is one contiguous copy,
/// with the columns that fall on the padding zeroed afterwards. Choice: one
/// long copy instead of OH short ones (rows of 16-32 floats with tails).
@inlinable
func isSamePlane(_ g: ConvGeometry) -> Bool { g.stride == 1 && g.outW == g.width }

/// The im2col row of kernel offset (kh, kw) for a same-size plane:
/// `dst` [OH*W] from `plane` [H, W]; `owLo..<owHi` are the valid columns.
@inlinable @inline(__always)
func im2colSamePlaneRow(
  _ dst: UnsafeMutablePointer<Float>, _ plane: UnsafePointer<Float>, kh: Int, kw: Int, owLo: Int, owHi: Int,
  geometry g: ConvGeometry
) {
  let w = g.width, p = g.padding, ohw = g.outPlane
  let ohLo = max(0, p - kh), ohHi = min(g.outH, g.height + p - kh)  // rows with 0 <= ih < H
  guard ohLo < ohHi, owLo < owHi else { zeroFloats(dst, ohw); return }
  // dst index t = oh*W + ow reads plane index t + (kh - p)*W + (kw - p).
  let start = ohLo * w + owLo, end = (ohHi - 1) * w + owHi
  zeroFloats(dst, start)
  copyLongFloats(dst + start, plane + (start + (kh - p) * w + kw - p), end - start)
  let gap = w - owHi + owLo  // columns on the padding between two rows
  if gap == 1 {  // 3x3 pad 1: one store per row (a loop here becomes a memset call per row)
    for oh in ohLo..<(ohHi - 1) { dst[oh * w + owHi] = 0 }
  } else if gap > 1 {
    for oh in ohLo..<(ohHi - 1) { zeroFloats(dst + oh * w + owHi, gap) }
  }
  zeroFloats(dst + end, ohw - end)
}

/// The adjoint of ``im2colSamePlaneRow``: adds the valid entries of `src`
/// [OH*W] into `plane` [H, W], after zeroing the entries on the padding.
/// Every element of `plane` receives the same additions in the same order
/// as the row-by-row loop (plus exact zeros).
@inlinable @inline(__always)
func col2imSamePlaneRow(
  _ plane: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, kh: Int, kw: Int, owLo: Int,
  owHi: Int, geometry g: ConvGeometry
) {
  let w = g.width, p = g.padding
  let ohLo = max(0, p - kh), ohHi = min(g.outH, g.height + p - kh)
  guard ohLo < ohHi else { return }
  let start = ohLo * w + owLo, end = (ohHi - 1) * w + owHi
  let gap = w - owHi + owLo
  if gap == 1 {
    for oh in ohLo..<(ohHi - 1) { src[oh * w + owHi] = 0 }
  } else if gap > 1 {
    for oh in ohLo..<(ohHi - 1) { zeroFloats(src + oh * w + owHi, gap) }
  }
  addFloats(plane + (start + (kh - p) * w + kw - p), src + start, end - start)
}

// MARK: - Valid convolutions (stride 1, no padding)

/// True for stride 1 and no padding with a kernel wider than 1 (a 1x1
/// kernel's plane is a same plane, ``isSamePlane(_:)``): every window lies
/// inside the image, as in the digit CNN.
@inlinable
func isValidPlane(_ g: ConvGeometry) -> Bool { g.stride == 1 && g.padding == 0 && g.outW < g.width }

/// im2col of one image for stride 1 and no padding (every window inside the
/// image, as in the digit CNN): each row of the column matrix is OH copies
/// of OW floats, with none of the general path's bounds work per output row.
/// `image` points at the image [C, H, W].
@inlinable
func im2colValid(
  _ cols: UnsafeMutablePointer<Float>, ldCols: Int, _ image: UnsafePointer<Float>, image n: Int,
  geometry g: ConvGeometry
) {
  let ohw = g.outPlane, oh = g.outH, ow = g.outW, w = g.width
  var dst = cols + n * ohw
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let src = plane + kh * w + kw
        for r in 0..<oh { copyFloats(dst + r * ow, src + r * w, ow) }
        dst += ldCols
      }
    }
  }
}

/// The adjoint of ``im2colValid``: adds the column rows back into the image
/// `dxImage` [C, H, W], in the order of the general loop.
@inlinable
func col2imValid(
  _ dxImage: UnsafeMutablePointer<Float>, _ cols: UnsafePointer<Float>, ldCols: Int, image n: Int,
  geometry g: ConvGeometry
) {
  let ohw = g.outPlane, oh = g.outH, ow = g.outW, w = g.width
  var src = cols + n * ohw
  for c in 0..<g.channels {
    let plane = dxImage + c * g.inPlane
    for kh in 0..<g.kernelH {
      for kw in 0..<g.kernelW {
        let dst = plane + kh * w + kw
        for r in 0..<oh { addFloats(dst + r * w, src + r * ow, ow) }
        src += ldCols
      }
    }
  }
}
