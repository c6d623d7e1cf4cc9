/// Reductions and affine maps over one contiguous plane of floats, the
/// inner loops of BatchNorm and average pooling (a channel of an NCHW batch
/// is N such planes). They work 8 floats per SIMD step, then the tail; the
/// sums are Float within a plane (the caller adds planes in Double).

/// Σ src[0..<count].
@inlinable @inline(__always)
public func sumFloats(_ src: UnsafePointer<Float>, _ count: Int) -> Float {
  var acc = SIMD8<Float>(repeating: 0)
  var j = 0
  let s = UnsafeRawPointer(src)
  while j + 8 <= count {
    acc += s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  var total = acc.sum()
  while j < count { total += src[j]; j += 1 }
  return total
}

/// Σ (src[j] − mean)² over `count` floats.
@inlinable @inline(__always)
public func sumSquaredDeviations(_ src: UnsafePointer<Float>, _ count: Int, mean: Float) -> Float {
  var acc = SIMD8<Float>(repeating: 0)
  let m = SIMD8<Float>(repeating: mean)
  var j = 0
  let s = UnsafeRawPointer(src)
  while j + 8 <= count {
    let d = s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m
    acc += d * d
    j += 8
  }
  var total = acc.sum()
  while j < count { let d = src[j] - mean; total += d * d; j += 1 }
  return total
}

/// `dst[j] = src[j] * scale + shift` (then `max(·, 0)` when `relu`); `dst`
/// may equal `src`.
@inlinable @inline(__always)
public func affineFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int, scale: Float, shift: Float,
  relu: Bool
) {
  let a = SIMD8<Float>(repeating: scale), b = SIMD8<Float>(repeating: shift), zero = SIMD8<Float>(repeating: 0)
  var j = 0
  let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
  while j + 8 <= count {
    var v = s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) * a + b
    if relu { v = v.replacing(with: zero, where: v .< zero) }
    d.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count {
    let v = src[j] * scale + shift
    dst[j] = relu ? max(v, 0) : v
    j += 1
  }
}

/// `dst[j] = max((src[j] * scale + shift) + residual[j], 0)`: BatchNorm's
/// affine map, a residual add and a ReLU in one pass (the same roundings
/// as ``affineFloats(_:_:_:scale:shift:relu:)`` followed by the add).
@inlinable @inline(__always)
public func affineAddReLUFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ residual: UnsafePointer<Float>, _ count: Int,
  scale: Float, shift: Float
) {
  let a = SIMD8<Float>(repeating: scale), b = SIMD8<Float>(repeating: shift), zero = SIMD8<Float>(repeating: 0)
  var j = 0
  let s = UnsafeRawPointer(src), r = UnsafeRawPointer(residual), d = UnsafeMutableRawPointer(dst)
  while j + 8 <= count {
    let v = s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) * a + b
    var w = v + r.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    w = w.replacing(with: zero, where: w .< zero)
    d.storeBytes(of: w, toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count {
    let v = src[j] * scale + shift
    dst[j] = max(v + residual[j], 0)
    j += 1
  }
}

/// Returns (Σ g, Σ g·x) with g = dy, or g = (y > 0 ? dy : 0) when `y` is
/// given (a fused ReLU's mask; a NaN in `y` gives 0, as in
/// ``maskedCopyFloats(_:_:mask:_:)``).
@inlinable @inline(__always)
public func gradientSums(
  _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mask y: UnsafePointer<Float>?, _ count: Int
) -> (sum: Float, dot: Float) {
  var sg = SIMD8<Float>(repeating: 0), sgx = SIMD8<Float>(repeating: 0)
  let zero = SIMD8<Float>(repeating: 0)
  var j = 0
  let pd = UnsafeRawPointer(dy), px = UnsafeRawPointer(x)
  if let y {
    let py = UnsafeRawPointer(y)
    while j + 8 <= count {
      var g = pd.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      g = zero.replacing(with: g, where: py.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) .> zero)
      sg += g
      sgx += g * px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      j += 8
    }
  } else {
    while j + 8 <= count {
      let g = pd.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      sg += g
      sgx += g * px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      j += 8
    }
  }
  var s = sg.sum(), sx = sgx.sum()
  while j < count {
    let g = (y.map { $0[j] > 0 } ?? true) ? dy[j] : 0
    s += g; sx += g * x[j]
    j += 1
  }
  return (s, sx)
}

/// `dx[j] = a·g[j] + b·x[j] + c` with g = dy, or g masked by `y > 0`.
@inlinable @inline(__always)
public func batchNormInputGradient(
  _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
  mask y: UnsafePointer<Float>?, _ count: Int, a: Float, b: Float, c: Float
) {
  let va = SIMD8<Float>(repeating: a), vb = SIMD8<Float>(repeating: b), vc = SIMD8<Float>(repeating: c)
  let zero = SIMD8<Float>(repeating: 0)
  var j = 0
  let pd = UnsafeRawPointer(dy), px = UnsafeRawPointer(x), po = UnsafeMutableRawPointer(dx)
  while j + 8 <= count {
    var g = pd.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    if let y {
      g = zero.replacing(
        with: g, where: UnsafeRawPointer(y).loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) .> zero)
    }
    let v = va * g + vb * px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + vc
    po.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count {
    let g = (y.map { $0[j] > 0 } ?? true) ? dy[j] : 0
    dx[j] = a * g + b * x[j] + c
    j += 1
  }
}
