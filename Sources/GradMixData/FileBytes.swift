import CZlib
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads whole files safely, decompressing gzip when the content says so.
///
/// Gzip is detected by its magic bytes (`1f 8b`), never by the file name,
/// so `x.gz` holding raw bytes and `x` holding gzip both read correctly.
enum FileBytes {
  /// The largest decompressed size accepted (4 GiB), a guard against gzip bombs.
  static let maxDecompressed = 1 << 32

  /// Returns the bytes of `path`, decompressed if they are gzip.
  ///
  /// - Throws: ``DataError/fileNotFound(path:)``, ``DataError/notAFile(path:)``,
  ///   ``DataError/unreadable(path:reason:)``, ``DataError/empty(path:)`` or
  ///   ``DataError/gzip(path:detail:)``.
  static func read(_ path: String) throws -> [UInt8] {
    let raw = try readRaw(path)
    guard raw.count > 0 else { throw DataError.empty(path: path) }
    if raw.count >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
      let out = try gunzip(raw, path: path)
      guard out.count > 0 else { throw DataError.empty(path: path) }
      return out
    }
    return raw
  }

  /// Returns the bytes of `path` exactly as stored.
  static func readRaw(_ path: String) throws -> [UInt8] {
    var st = stat()
    guard stat(path, &st) == 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw DataError.fileNotFound(path: path) }
      throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw DataError.notAFile(path: path) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes = [UInt8]()
    bytes.reserveCapacity(Int(st.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
      }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
  }

  /// Decompresses one or more concatenated gzip members.
  static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
    // ISIZE (the last four bytes, little endian) is the size mod 2^32: a good first guess,
    // capped by deflate's largest ratio (1032:1) so a damaged trailer cannot make us over-allocate.
    let n = input.count
    var guess =
      n >= 18 ? Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24 : 0
    guess = min(max(guess, 1 << 16), n * 1032 + 1024, maxDecompressed)
    var out = [UInt8](repeating: 0, count: guess)
    var produced = 0
    var consumed = 0
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DataError.gzip(path: path, detail: "cannot initialise zlib")
    }
    defer { inflateEnd(&stream) }
    try input.withUnsafeBufferPointer { inBuf in
      while true {  // one gzip member per iteration
        var status: Int32 = Z_OK
        repeat {
          if produced == out.count {
            guard out.count < maxDecompressed else {
              throw DataError.gzip(path: path, detail: "decompresses to more than \(maxDecompressed) bytes")
            }
            out.append(contentsOf: repeatElement(0, count: min(out.count, maxDecompressed - out.count)))
          }
          status = out.withUnsafeMutableBufferPointer { outBuf -> Int32 in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + consumed)
            stream.avail_in = UInt32(clamping: n - consumed)
            stream.next_out = outBuf.baseAddress! + produced
            stream.avail_out = UInt32(clamping: outBuf.count - produced)
            let before = (Int(stream.avail_in), Int(stream.avail_out))
            let s = inflate(&stream, Z_NO_FLUSH)
            consumed += before.0 - Int(stream.avail_in)
            produced += before.1 - Int(stream.avail_out)
            return s
          }
          if status == Z_BUF_ERROR && consumed == n {
            throw DataError.gzip(path: path, detail: "the compressed stream is truncated")
          }
          if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
            let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw DataError.gzip(path: path, detail: msg)
          }
        } while status != Z_STREAM_END
        if consumed == n { break }
        guard n - consumed >= 2 && input[consumed] == 0x1f && input[consumed + 1] == 0x8b else {
          throw DataError.gzip(path: path, detail: "\(n - consumed) bytes of garbage after the compressed stream")
        }
        inflateReset(&stream)
      }
    }
    out.removeSubrange(produced...)
    return out
  }

  /// Compresses `bytes` as one gzip member (used by tests and fixtures).
  static func gzip(_ bytes: [UInt8], path: String) throws -> [UInt8] {
    var stream = z_stream()
    guard
      deflateInit2_(
        &stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
        Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else {
      throw DataError.writeFailed(path: path, reason: "cannot initialise zlib")
    }
    defer { deflateEnd(&stream) }
    let bound = Int(deflateBound(&stream, UInt(bytes.count))) + 32
    var out = [UInt8](repeating: 0, count: bound)
    let status = bytes.withUnsafeBufferPointer { inBuf in
      out.withUnsafeMutableBufferPointer { outBuf -> Int32 in
        stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
        stream.avail_in = UInt32(inBuf.count)
        stream.next_out = outBuf.baseAddress
        stream.avail_out = UInt32(outBuf.count)
        return deflate(&stream, Z_FINISH)
      }
    }
    guard status == Z_STREAM_END else {
      throw DataError.writeFailed(path: path, reason: "zlib deflate failed (\(status))")
    }
    out.removeSubrange(Int(stream.total_out)...)
    return out
  }
}
