/// A contiguous, 64-byte aligned buffer of `Float` that owns its memory.
///
/// Parameters, gradients and optimiser state of a model are each one
/// `FlatBuffer` sharing one ``ParameterLayout``, so "zero every gradient",
/// "dot product of layer l of two gradients" and "allreduce every gradient"
/// are single calls on the buffer or on one of its slices (see llm.c's
/// `malloc_and_point_parameters`, torch/nn's `Module:getParameters()`).
///
/// The class is `@unchecked Sendable`: it hands out raw pointers and callers
/// are responsible for not writing to the same slice from two threads.
public final class FlatBuffer: @unchecked Sendable {
  /// Number of `Float` elements.
  public let count: Int
  /// The memory, valid for the lifetime of the buffer.
  public let storage: UnsafeMutableBufferPointer<Float>

  /// Allocates `count` floats, zero-filled.
  public init(count: Int) {
    precondition(count >= 0, "A FlatBuffer cannot have a negative count (\(count)).")
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
    let base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
    storage = UnsafeMutableBufferPointer(start: base, count: count)
  }

  /// Allocates a buffer holding a copy of `values`.
  public convenience init(_ values: [Float]) {
    self.init(count: values.count)
    for i in 0..<values.count { storage[i] = values[i] }
  }

  deinit {
    UnsafeMutableRawPointer(storage.baseAddress!).deallocate()
  }

  /// The base pointer (never nil, even for an empty buffer).
  @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.baseAddress.unsafelyUnwrapped }

  /// A mutable view of `range` (for example `layout.layerRanges[l]`).
  @inlinable public func slice(_ range: Range<Int>) -> UnsafeMutableBufferPointer<Float> {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= count,
      "Slice \(range) is outside the buffer of \(count) floats.")
    return UnsafeMutableBufferPointer(rebasing: storage[range])
  }

  /// Sets every element to zero (one `memset`).
  public func zero() {
    if count > 0 { pointer.update(repeating: 0, count: count) }
  }

  /// Sets every element to `value`.
  public func fill(_ value: Float) {
    if count > 0 { pointer.update(repeating: value, count: count) }
  }

  /// Copies all elements of `other`, which must have the same count.
  public func copy(from other: FlatBuffer) {
    precondition(
      other.count == count,
      "Cannot copy a buffer of \(other.count) floats into one of \(count).")
    if count > 0 { pointer.update(from: other.pointer, count: count) }
  }

  /// A new buffer with the same contents.
  public func clone() -> FlatBuffer {
    let copy = FlatBuffer(count: count)
    copy.copy(from: self)
    return copy
  }

  /// The contents as an array (allocates; for tests and I/O, not hot paths).
  public var array: [Float] { Array(storage) }
}
