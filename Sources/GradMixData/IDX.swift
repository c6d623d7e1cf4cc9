import Foundation
import GradMixEngine

/// Reads and writes IDX files, the uint8 array format of LeCun's MNIST files.
///
/// Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of
/// dimensions, one big-endian uint32 per dimension, then the values in
/// row-major order (see `scripts/data/idx.py`). Files may be gzip-compressed;
/// that is detected from the content (magic `1f 8b`), not the file name.
///
/// Every check happens before any value is used, so a damaged file throws a
/// ``DataError`` naming the file and the fault instead of crashing.
public enum IDX {
  /// The IDX type byte for unsigned 8-bit values (the only type supported).
  public static let ubyte: UInt8 = 0x08

  /// Reads an IDX file (raw or gzip) and validates its header against its length.
  ///
  /// - Parameter path: the file to read.
  /// - Returns: the dimensions (1 to 4 of them) and the values, row-major.
  /// - Throws: ``DataError`` for a missing, unreadable, empty, non-regular,
  ///   badly compressed, truncated or over-long file or a wrong magic number.
  public static func read(_ path: String) throws -> (dims: [Int], bytes: [UInt8]) {
    // Streamed: the header is checked before the body is read, and the body
    // is read only up to the size the header promises (issue #12, item 7).
    let file = try FileStream(path)
    let (dims, product) = try header(file)
    let headerSize = 4 + 4 * dims.count
    let expected = headerSize + product
    try checkHolds(file, expected: expected)
    // The body is held whole, read through one 64 MiB chunk: refused before it is read if that
    // would not fit (issue #28).
    try DataMemory.check(
      product + min(product, 1 << 26), what: "\(path) (\(dims.map(String.init).joined(separator: "x")) bytes)")
    let body = try file.read(product)
    if body.count < product {
      throw DataError.truncated(path: path, expected: expected, actual: headerSize + body.count)
    }
    let limit = 1 << 26
    guard let extra = try file.remainingCount(limit: limit) else {
      throw DataError.dimensionMismatch(
        path: path, detail: "more than \(limit) bytes follow the \(expected) its header \(dims) describes")
    }
    if extra > 0 { throw DataError.trailingBytes(path: path, count: extra) }
    return (dims, body)
  }

  /// Throws if the file cannot hold `expected` bytes, even inflated at deflate's best ratio.
  static func checkHolds(_ file: FileStream, expected: Int) throws {
    if expected > file.maxContentSize {
      throw DataError.truncated(
        path: file.path, expected: expected, actual: min(file.maxContentSize, file.storedSize))
    }
  }

  /// Reads and checks the header of an open file, leaving the stream at the first value.
  ///
  /// - Returns: the dimensions and their product (the number of values).
  /// - Throws: ``DataError`` for a truncated header, a wrong magic number or dimensions that overflow.
  static func header(_ file: FileStream) throws -> (dims: [Int], product: Int) {
    let path = file.path
    let head = try file.read(4)
    guard head.count >= 4 else { throw DataError.truncated(path: path, expected: 4, actual: head.count) }
    let magic = UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3])
    let ndim = Int(head[3])
    guard head[0] == 0, head[1] == 0, head[2] == ubyte, (1...4).contains(ndim) else {
      throw DataError.badMagic(path: path, found: magic)
    }
    let dimBytes = try file.read(4 * ndim)
    guard dimBytes.count == 4 * ndim else {
      throw DataError.truncated(path: path, expected: 4 + 4 * ndim, actual: 4 + dimBytes.count)
    }
    var dims = [Int]()
    var product = 1
    for d in 0..<ndim {
      let o = 4 * d
      let v = Int(dimBytes[o]) << 24 | Int(dimBytes[o + 1]) << 16 | Int(dimBytes[o + 2]) << 8 | Int(dimBytes[o + 3])
      dims.append(v)
      let (p, overflow) = product.multipliedReportingOverflow(by: v)
      guard !overflow else { throw DataError.dimensionMismatch(path: path, detail: "dimensions \(dims) are too large") }
      product = p
    }
    return (dims, product)
  }

  /// Reads an image array: `[N, H, W]` (grey, one channel) or `[N, H, W, C]` (interleaved).
  ///
  /// - Throws: everything ``read(_:)`` throws, and ``DataError/dimensionMismatch(path:detail:)``
  ///   for another number of dimensions, a zero height or width, or more than 4 channels.
  public static func readImages(_ path: String) throws
    -> (count: Int, height: Int, width: Int, channels: Int, pixels: [UInt8])
  {
    let (dims, bytes) = try read(path)
    guard dims.count == 3 || dims.count == 4 else {
      throw DataError.dimensionMismatch(
        path: path,
        detail: "an image file needs 3 dimensions [N, H, W] or 4 [N, H, W, C], found \(dims)")
    }
    let channels = dims.count == 4 ? dims[3] : 1
    guard dims[1] > 0, dims[2] > 0, (1...4).contains(channels) else {
      throw DataError.dimensionMismatch(
        path: path,
        detail: "images need a positive height and width and 1 to 4 channels, found \(dims)")
    }
    return (dims[0], dims[1], dims[2], channels, bytes)
  }

  /// Reads a label vector `[N]` and checks every label is in `0..<classCount`.
  ///
  /// - Throws: everything ``read(_:)`` throws, ``DataError/dimensionMismatch(path:detail:)``
  ///   if the file is not one-dimensional, and ``DataError/labelOutOfRange(path:index:label:range:)``
  ///   naming the first bad index.
  public static func readLabels(_ path: String, classCount: Int) throws -> [Int32] {
    precondition(classCount > 0, "The class count must be positive, got \(classCount).")
    let (dims, bytes) = try read(path)
    guard dims.count == 1 else {
      throw DataError.dimensionMismatch(path: path, detail: "a label file needs 1 dimension [N], found \(dims)")
    }
    if let i = bytes.firstIndex(where: { Int($0) >= classCount }) {
      throw DataError.labelOutOfRange(path: path, index: i, label: Int(bytes[i]), range: 0..<classCount)
    }
    return bytes.map { Int32($0) }
  }

  /// Writes `bytes` as an IDX file of shape `dims`, atomically.
  ///
  /// - Parameters:
  ///   - path: the file to write (replaced if it exists).
  ///   - dims: 1 to 4 dimensions, each below 2^32, whose product is `bytes.count`.
  ///   - bytes: the values, row-major.
  ///   - gzip: compress the file with gzip.
  /// - Throws: ``DataError/writeFailed(path:reason:)``.
  public static func write(_ path: String, dims: [Int], bytes: [UInt8], gzip: Bool = false) throws {
    precondition(
      (1...4).contains(dims.count) && dims.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) },
      "An IDX file has 1 to 4 dimensions in 0...2^32-1, got \(dims).")
    precondition(
      dims.reduce(1, *) == bytes.count,
      "IDX dimensions \(dims) hold \(dims.reduce(1, *)) values, but \(bytes.count) were given.")
    var out: [UInt8] = [0, 0, ubyte, UInt8(dims.count)]
    for d in dims { out += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
    out += bytes
    if gzip { out = try FileBytes.gzip(out, path: path) }
    try writeAtomically(Data(out), to: path)
  }
}

/// Writes through ``AtomicFile`` and reports failures as ``DataError/writeFailed(path:reason:)``.
func writeAtomically(_ data: Data, to path: String) throws {
  do {
    try AtomicFile.write(data, to: path)
  } catch let CheckpointError.writeFailed(_, reason) {
    throw DataError.writeFailed(path: path, reason: reason)
  }
}
