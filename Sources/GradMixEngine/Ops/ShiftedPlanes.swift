// Legend: see ConvGeometry; S = stride, L = (H + 2p) * W.

/// Where a convolution's column matrix lies in the shifted planes of one
/// image: for each channel c, kernel column kw and row phase py < S, the
/// plane [R, OW] whose row r holds the input row (r − top)·S + py sampled at
/// the columns ow·S + kw − p (zero outside the image), R = top + OH +
/// bottom. Row (c, kh, kw) of the column matrix is then OHW contiguous
/// floats of plane (c, kw, (kh − p) mod S) from row top + ⌊(kh − p)/S⌋ on.
/// For stride 1 this is one plane per (c, kw) between p zero rows above and
/// below, and rows kh = 0, 1, 2 of a 3x3 kernel are the same plane W floats
/// apart: 3 rows per channel instead of 9. For stride 2 (the space-to-depth
/// split of x into row phases) 6 planes of about OH x OW per channel.
struct ShiftedPlanes {
  let geometry: ConvGeometry
  /// Zero rows above the first input row of a plane, and rows per plane.
  let top: Int, rows: Int
  /// Whether row phase py is read by some kernel row.
  let phaseUsed: [Bool]

  init(_ g: ConvGeometry) {
    geometry = g
    let s = g.stride
    func floorDiv(_ a: Int) -> Int { a >= 0 ? a / s : -((-a + s - 1) / s) }
    let qLow = floorDiv(-g.padding), qHigh = floorDiv(g.kernelH - 1 - g.padding)
    top = max(0, -qLow)
    rows = top + g.outH + max(0, qHigh)
    var used = [Bool](repeating: false, count: s)
    for kh in 0..<g.kernelH { used[(kh - g.padding - floorDiv(kh - g.padding) * s)] = true }
    phaseUsed = used
  }

  var planeCount: Int { rows * geometry.outW }
  /// Floats from one channel's planes to the next.
  var channelStride: Int { geometry.kernelW * geometry.stride * planeCount }
  /// Floats of one image's planes.
  var count: Int { geometry.channels * channelStride }

  /// Offset of row (c, kh, kw) of the column matrix.
  func offset(channel c: Int, kh: Int, kw: Int) -> Int {
    let s = geometry.stride, d = kh - geometry.padding
    let q = d >= 0 ? d / s : -((-d + s - 1) / s)
    return c * channelStride + (kw * s + (d - q * s)) * planeCount + (top + q) * geometry.outW
  }

  /// Offsets of the K = C·KH·KW rows (c, kh, kw), in the weight's order.
  func rowOffsets() -> [Int] {
    let g = geometry
    var offsets: [Int] = []
    offsets.reserveCapacity(g.patch)
    for c in 0..<g.channels {
      for kh in 0..<g.kernelH {
        for kw in 0..<g.kernelW { offsets.append(offset(channel: c, kh: kh, kw: kw)) }
      }
    }
    return offsets
  }

  /// Writes the planes of `image` [C, H, W] (phases no kernel row reads are left alone).
  func write(_ planes: UnsafeMutablePointer<Float>, _ image: UnsafePointer<Float>) {
    let g = geometry
    if isSamePlane(g) && g.kernelH == g.kernelW {
      shiftedPlanes(planes, image, geometry: g)
      return
    }
    if isValidPlane(g) {
      validPlanes(planes, image, geometry: g)
      return
    }
    let s = g.stride, ow = g.outW, imageCount = g.channels * g.inPlane
    for c in 0..<g.channels {
      let plane = image + c * g.inPlane
      for kw in 0..<g.kernelW {
        let owLo = g.padding > kw ? (g.padding - kw + s - 1) / s : 0, owHi = im2colUpperBound(g, kw)
        for py in 0..<s where phaseUsed[py] {
          let dst = planes + c * channelStride + (kw * s + py) * planeCount
          for r in 0..<rows {
            let ih = (r - top) * s + py, d = dst + r * ow
            guard ih >= 0 && ih < g.height && owLo < owHi else {
              zeroFloats(d, ow)
              continue
            }
            let src = plane + ih * g.width - g.padding + kw
            for o in 0..<owLo { d[o] = 0 }
            if s == 1 {
              for o in 0..<owLo { d[o] = 0 }
              copyFloats(d + owLo, src + owLo, owHi - owLo)
              for o in owHi..<ow { d[o] = 0 }
              continue
            }
            var o = owLo
            if s == 2 {
              // Even lanes of 16 loaded floats, as im2col does; the load stays inside the image.
              let srcIndex = c * g.inPlane + ih * g.width - g.padding + kw  // of src in the image
              while o + 8 <= owHi && srcIndex + 2 * o + 16 <= imageCount {
                let v = UnsafeRawPointer(src + 2 * o).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(d + o).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                o += 8
              }
            }
            while o < owHi { d[o] = src[o * s]; o += 1 }
            for o in owHi..<ow { d[o] = 0 }
          }
        }
      }
    }
  }
}

/// Writes the shifted planes of `image` [C, H, W] into `planes`
/// [C, KW, (H + 2p) * W] for a same convolution (``isSamePlane(_:)``):
/// plane (c, kw) holds, from row p on, the im2col row of kernel offset
/// (p, kw), between p zero rows above and below (``ShiftedPlanes`` with
/// stride 1, written as whole-plane copies).
@inlinable
func shiftedPlanes(_ planes: UnsafeMutablePointer<Float>, _ image: UnsafePointer<Float>, geometry g: ConvGeometry) {
  let w = g.width, p = g.padding, ohw = g.outPlane, l = (g.height + 2 * p) * w
  for c in 0..<g.channels {
    let plane = image + c * g.inPlane
    for kw in 0..<g.kernelW {
      let dst = planes + (c * g.kernelW + kw) * l
      let owLo = p > kw ? p - kw : 0, owHi = im2colUpperBound(g, kw)
      zeroFloats(dst, p * w)
      im2colSamePlaneRow(dst + p * w, plane, kh: p, kw: kw, owLo: owLo, owHi: owHi, geometry: g)
      zeroFloats(dst + p * w + ohw, l - p * w - ohw)
    }
  }
}

/// Writes the planes of `image` [C, H, W] into `planes` [C, KW, H, OW] for
/// a valid convolution (``isValidPlane(_:)``): plane (c, kw) row r is input
/// row r from column kw on (``ShiftedPlanes`` with stride 1 and no padding:
/// no zeros), rows of 8 or 16 floats as single vector copies.
@inlinable
func validPlanes(_ planes: UnsafeMutablePointer<Float>, _ image: UnsafePointer<Float>, geometry g: ConvGeometry) {
  let w = g.width, ow = g.outW, h = g.height
  var dst = UnsafeMutableRawPointer(planes)
  for c in 0..<g.channels {
    let plane = UnsafeRawPointer(image + c * g.inPlane)
    for kw in 0..<g.kernelW {
      var src = plane + kw * 4
      if ow == 8 {
        for _ in 0..<h {
          dst.storeBytes(of: src.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
          dst += 32; src += w * 4
        }
      } else {
        for _ in 0..<h {
          copyFloats(dst.assumingMemoryBound(to: Float.self), src.assumingMemoryBound(to: Float.self), ow)
          dst += ow * 4; src += w * 4
        }
      }
    }
  }
}
