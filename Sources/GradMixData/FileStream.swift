import CZlib
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a data file front to back in bounded memory, inflating gzip on the fly.
///
/// A reader can check a header before it asks for the body, and never holds
/// more than what it asked for plus one 64 KiB input chunk, so a small
/// `.gz` that inflates to gigabytes (or a header that promises them) costs
/// no more memory than the data actually read (issue #12, item 7). Gzip is
/// detected from the content (magic `1f 8b`), never the file name, and
/// concatenated members are read as one stream (as `gzip -d` does).
final class FileStream {
  let path: String
  /// Whether the content is gzip.
  private(set) var isGzip = false
  /// The size of the file as stored (compressed, for gzip).
  let storedSize: Int
  private let fd: Int32
  private var stream = z_stream()
  private var input = [UInt8](repeating: 0, count: 1 << 16)
  private var inStart = 0, inEnd = 0
  private var rawEOF = false
  private var memberEnded = false
  /// Bytes handed out so far (decompressed).
  private(set) var position = 0

  /// Opens `path`.
  /// - Throws: ``DataError/fileNotFound(path:)``, ``DataError/notAFile(path:)``,
  ///   ``DataError/unreadable(path:reason:)``, ``DataError/empty(path:)`` or ``DataError/gzip(path:detail:)``.
  init(_ path: String) throws {
    self.path = path
    (fd, storedSize) = try openDataFile(path)
    // Fully initialised from here: a throw runs deinit, which closes fd.
    try fill(atLeast: 2)
    let gz = inEnd - inStart >= 2 && input[inStart] == 0x1f && input[inStart + 1] == 0x8b
    if gz && inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) != Z_OK {
      throw DataError.gzip(path: path, detail: "cannot initialise zlib")
    }
    isGzip = gz
  }

  deinit {
    close(fd)
    if isGzip { inflateEnd(&stream) }
  }

  /// The most bytes the content can hold: the stored size, or for gzip
  /// deflate's largest ratio (1032:1) times it.
  var maxContentSize: Int { isGzip ? storedSize * 1032 + 1024 : storedSize }

  /// Reads up to `count` bytes; fewer only at the end of the content.
  ///
  /// The result grows with the data (in steps of at most 64 MiB), so a
  /// header promising more than the file holds costs no large allocation.
  func read(_ count: Int) throws -> [UInt8] {
    var out = [UInt8]()
    // Exactly `count` when the file can hold that much: growing by doubling held 1.5-2x the
    // bytes at each step (a 512 MiB step of a 748 MiB read failed under `ulimit -v`, issue #28).
    out.reserveCapacity(count <= maxContentSize ? count : min(count, 1 << 26))
    while out.count < count {
      let chunk = min(count - out.count, 1 << 26)
      let got = try readChunk(chunk)
      out += got
      if got.count < chunk { break }
    }
    return out
  }

  /// Counts the bytes left after the current position, reading at most `limit` of them.
  /// - Returns: the count, or nil if more than `limit` are left.
  func remainingCount(limit: Int) throws -> Int? {
    if !isGzip {
      let left = storedSize - position
      return left <= limit ? left : nil
    }
    var n = 0
    while true {
      let got = try readChunk(min(1 << 20, limit - n + 1)).count
      n += got
      if n > limit { return nil }
      if got == 0 { return n }
    }
  }

  // MARK: - Reading

  private func readChunk(_ count: Int) throws -> [UInt8] {
    guard count > 0 else { return [] }
    var out = [UInt8](repeating: 0, count: count)
    var produced = 0
    while produced < count {
      if !isGzip {
        if inStart == inEnd { try fill(atLeast: 1) }
        if inStart == inEnd { break }
        let n = min(count - produced, inEnd - inStart)
        out.withUnsafeMutableBufferPointer { o in
          input.withUnsafeBufferPointer { i in
            (o.baseAddress! + produced).update(from: i.baseAddress! + inStart, count: n)
          }
        }
        inStart += n
        produced += n
        continue
      }
      if memberEnded {
        try fill(atLeast: 2)
        if inStart == inEnd { break }  // the end of the last member
        guard inEnd - inStart >= 2, input[inStart] == 0x1f, input[inStart + 1] == 0x8b else {
          throw DataError.gzip(path: path, detail: "unexpected bytes after the compressed stream")
        }
        inflateReset(&stream)
        memberEnded = false
      }
      if inStart == inEnd {
        try fill(atLeast: 1)
        if inStart == inEnd { throw DataError.gzip(path: path, detail: "the compressed stream is truncated") }
      }
      let status = out.withUnsafeMutableBufferPointer { o -> Int32 in
        input.withUnsafeMutableBufferPointer { i -> Int32 in
          stream.next_in = i.baseAddress! + inStart
          stream.avail_in = UInt32(inEnd - inStart)
          stream.next_out = o.baseAddress! + produced
          stream.avail_out = UInt32(clamping: count - produced)
          let before = (Int(stream.avail_in), Int(stream.avail_out))
          let s = inflate(&stream, Z_NO_FLUSH)
          inStart += before.0 - Int(stream.avail_in)
          produced += before.1 - Int(stream.avail_out)
          return s
        }
      }
      if status == Z_STREAM_END { memberEnded = true; continue }
      if status != Z_OK && status != Z_BUF_ERROR {
        let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
        throw DataError.gzip(path: path, detail: msg)
      }
    }
    out.removeSubrange(produced...)
    position += produced
    return out
  }

  /// Reads from the file until at least `n` unread stored bytes are buffered (or the file ends).
  private func fill(atLeast n: Int) throws {
    guard inEnd - inStart < n, !rawEOF else { return }
    if inStart > 0 {
      let left = inEnd - inStart
      input.withUnsafeMutableBufferPointer { b in b.baseAddress!.update(from: b.baseAddress! + inStart, count: left) }
      inStart = 0
      inEnd = left
    }
    while inEnd - inStart < n && !rawEOF {
      let got = input.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + inEnd, $0.count - inEnd) }
      if got < 0 {
        if errno == EINTR { continue }
        throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
      }
      if got == 0 { rawEOF = true } else { inEnd += got }
    }
  }
}
