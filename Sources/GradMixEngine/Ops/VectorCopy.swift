/// Short strided-row copies are the inner loops of im2col and col2im (rows
/// of 8 to 28 floats). A `memcpy` call per row costs more than the copy, so
/// these move 8 floats per unaligned SIMD load/store, then the tail.

/// `dst[0..<count] = src[0..<count]` (non-overlapping).
@inlinable @inline(__always)
public func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
  var j = 0
  let d = UnsafeMutableRawPointer(dst), s = UnsafeRawPointer(src)
  while j + 8 <= count {
    d.storeBytes(
      of: s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self), toByteOffset: j * 4,
      as: SIMD8<Float>.self)
    j += 8
  }
  while j < count { dst[j] = src[j]; j += 1 }
}

/// `dst[0..<count] = src[0..<count]` (non-overlapping) for runs that may be
/// long, as a same-size plane's im2col row (~OH*W floats): from 64 floats on
/// it calls `memcpy`, whose glibc version picks AVX-512 or AVX2 stores at run
/// time (the engine's Swift is built for SSE2, 16-byte stores). Choice:
/// measured in results/engine-profile.md.
@inlinable @inline(__always)
public func copyLongFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
  if count >= 64 {
    UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * MemoryLayout<Float>.stride)
  } else {
    copyFloats(dst, src, count)
  }
}

/// `dst[0..<count] += src[0..<count]` (non-overlapping).
@inlinable @inline(__always)
public func addFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
  combineFloats(dst, src, count, simd: { a, b in a + b }, scalar: { a, b in a + b })
}

/// `dst[j] = f(dst[j], src[j])` for j in 0..<count (non-overlapping), 8
/// floats per unaligned SIMD load/store, then the tail one at a time:
/// `simd` and `scalar` must compute the same `f` (lane by lane).
@inlinable @inline(__always)
public func combineFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int,
  simd: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, scalar: (Float, Float) -> Float
) {
  var j = 0
  let d = UnsafeMutableRawPointer(dst), s = UnsafeRawPointer(src)
  while j + 8 <= count {
    let v = simd(
      d.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self),
      s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self))
    d.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count { dst[j] = scalar(dst[j], src[j]); j += 1 }
}

/// `dst[0..<count] = 0`.
@inlinable @inline(__always)
public func zeroFloats(_ dst: UnsafeMutablePointer<Float>, _ count: Int) {
  var j = 0
  let d = UnsafeMutableRawPointer(dst)
  while j + 8 <= count {
    d.storeBytes(of: SIMD8<Float>(repeating: 0), toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count { dst[j] = 0; j += 1 }
}

/// `dst[0..<count] = 0` for runs that may be long (a plane of dX before its
/// additions): from 64 floats on it calls `memset` (AVX-512/AVX2 stores, as
/// ``copyLongFloats(_:_:_:)``).
@inlinable @inline(__always)
public func zeroLongFloats(_ dst: UnsafeMutablePointer<Float>, _ count: Int) {
  if count >= 64 {
    UnsafeMutableRawPointer(dst).initializeMemory(
      as: UInt8.self, repeating: 0, count: count * MemoryLayout<Float>.stride)
  } else {
    zeroFloats(dst, count)
  }
}

/// `dst[j] = mask[j] > 0 ? src[j] : 0`: a ReLU's backward pass (gradient
/// `src` masked by the ReLU's output `mask`), 8 floats per SIMD step. A
/// NaN in `mask` gives 0, as the scalar comparison does.
@inlinable @inline(__always)
public func maskedCopyFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, mask: UnsafePointer<Float>, _ count: Int
) {
  maskedFloats(dst, src, mask: mask, count, accumulate: false)
}

/// `dst[j] += mask[j] > 0 ? src[j] : 0`: adds a ReLU's masked gradient
/// without storing it (the same sums as ``maskedCopyFloats(_:_:mask:_:)``
/// followed by ``addFloats(_:_:_:)``).
@inlinable @inline(__always)
public func addMaskedFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, mask: UnsafePointer<Float>, _ count: Int
) {
  maskedFloats(dst, src, mask: mask, count, accumulate: true)
}

/// The masked copy (`accumulate` false) or masked add (true), 8 floats per
/// SIMD step; `accumulate` is a constant at each inlined call site.
@inlinable @inline(__always)
func maskedFloats(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, mask: UnsafePointer<Float>, _ count: Int,
  accumulate: Bool
) {
  var j = 0
  let d = UnsafeMutableRawPointer(dst), s = UnsafeRawPointer(src), m = UnsafeRawPointer(mask)
  let zero = SIMD8<Float>(repeating: 0)
  while j + 8 <= count {
    let keep = m.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) .> zero
    var v = zero.replacing(with: s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self), where: keep)
    if accumulate { v = d.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + v }
    d.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  while j < count {
    let v: Float = mask[j] > 0 ? src[j] : 0
    dst[j] = accumulate ? dst[j] + v : v
    j += 1
  }
}
