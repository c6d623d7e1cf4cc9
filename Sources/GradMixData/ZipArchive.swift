import CZlib
import Foundation

/// Reads the members of a zip archive, stored or deflated, as NumPy writes
/// `.npz` files (with zip64 size fields).
///
/// The central directory (APPNOTE.TXT, PKWARE, sections 4.3.12-4.3.16) is
/// the index; every offset and size is checked against the file before it is
/// used, and a member's claimed size is checked against deflate's largest
/// ratio (1032:1) and ``DataMemory`` before its buffer is allocated. Deflated
/// members are inflated with zlib and their CRC-32 is verified.
struct ZipArchive {
  struct Member {
    let name: String
    /// 0 = stored, 8 = deflated.
    let method: Int
    let compressedSize: Int
    let size: Int
    let crc: UInt32
    let localOffset: Int
  }

  let path: String
  let bytes: [UInt8]
  let members: [Member]

  /// Reads the file and its central directory.
  ///
  /// - Throws: the file errors of ``FileBytes/readRaw(_:)`` and
  ///   ``DataError/badFormat(path:detail:)`` for anything that is not a sound zip archive.
  init(path: String) throws {
    self.path = path
    let b = try FileBytes.readRaw(path)
    guard !b.isEmpty else { throw DataError.empty(path: path) }
    bytes = b
    func fail(_ d: String) -> DataError {
      DataError.badFormat(path: path, detail: "not a readable zip (.npz) archive: \(d)")
    }
    let (entries, cdSize, cdOffset) = try ZipArchive.directoryLocation(b, base: 0, path: path)
    guard cdOffset + cdSize <= b.count else { throw fail("central directory outside the file") }
    members = try ZipArchive.directory(
      Array(b[cdOffset..<(cdOffset + cdSize)]), entries: entries, fileSize: b.count, path: path)
  }

  /// Finds the central directory from the end of the file: `b` holds the file's bytes from
  /// offset `base` to its end (the whole file, or its last 64 KiB and more for reading headers).
  ///
  /// - Returns: the number of entries, the directory's size and its offset in the file.
  static func directoryLocation(_ b: [UInt8], base: Int, path: String) throws -> (entries: Int, size: Int, offset: Int)
  {
    func fail(_ d: String) -> DataError {
      DataError.badFormat(path: path, detail: "not a readable zip (.npz) archive: \(d)")
    }
    let fileSize = base + b.count
    // The end-of-central-directory record sits in the last 22 + 65535 bytes.
    var eocd = -1
    var i = b.count - 22
    while i >= max(0, b.count - 22 - 65535) {
      if ZipArchive.u32(b, i) == 0x0605_4b50 { eocd = i; break }
      i -= 1
    }
    guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated?)") }
    var entries = ZipArchive.u16(b, eocd + 10)
    var cdSize = ZipArchive.u32(b, eocd + 12)
    var cdOffset = ZipArchive.u32(b, eocd + 16)
    if entries == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
      let loc = eocd - 20
      guard loc >= 0, ZipArchive.u32(b, loc) == 0x0706_4b50 else { throw fail("zip64 locator missing") }
      let z = ZipArchive.u64(b, loc + 8) - base
      guard z >= 0, z <= b.count - 56, ZipArchive.u32(b, z) == 0x0606_4b50 else { throw fail("bad zip64 record") }
      entries = ZipArchive.u64(b, z + 32)
      cdSize = ZipArchive.u64(b, z + 40)
      cdOffset = ZipArchive.u64(b, z + 48)
    }
    guard entries >= 0, cdSize >= 0, cdOffset >= 0, cdOffset <= fileSize, cdSize <= fileSize - cdOffset,
      entries <= cdSize / 46
    else { throw fail("central directory outside the file") }
    return (entries, cdSize, cdOffset)
  }

  /// Builds an archive from bytes already read (a window of the file, for reading headers).
  init(path: String, bytes: [UInt8], members: [Member]) {
    self.path = path
    self.bytes = bytes
    self.members = members
  }

  /// Parses `entries` central directory entries held in `b` (the directory alone) of a file of `fileSize` bytes.
  static func directory(_ b: [UInt8], entries: Int, fileSize: Int, path: String) throws -> [Member] {
    func fail(_ d: String) -> DataError {
      DataError.badFormat(path: path, detail: "not a readable zip (.npz) archive: \(d)")
    }
    var out = [Member]()
    var p = 0
    for _ in 0..<entries {
      guard p + 46 <= b.count, ZipArchive.u32(b, p) == 0x0201_4b50 else {
        throw fail("bad central directory entry at byte \(p)")
      }
      let method = ZipArchive.u16(b, p + 10)
      let flags = ZipArchive.u16(b, p + 8)
      let crc = UInt32(ZipArchive.u32(b, p + 16))
      var csize = ZipArchive.u32(b, p + 20)
      var size = ZipArchive.u32(b, p + 24)
      let nameLen = ZipArchive.u16(b, p + 28), extraLen = ZipArchive.u16(b, p + 30)
      let commentLen = ZipArchive.u16(b, p + 32)
      var local = ZipArchive.u32(b, p + 42)
      let end = p + 46 + nameLen + extraLen + commentLen
      guard end <= b.count else { throw fail("central directory entry runs past its end") }
      let name = String(decoding: b[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
      // Zip64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
      var e = p + 46 + nameLen
      while e + 4 <= p + 46 + nameLen + extraLen {
        let id = ZipArchive.u16(b, e), len = ZipArchive.u16(b, e + 4 - 2)
        let body = e + 4
        guard body + len <= p + 46 + nameLen + extraLen else { throw fail("member \(name): bad extra field") }
        if id == 1 {
          var q = body
          for field in [0, 1, 2] {
            let value = field == 0 ? size : field == 1 ? csize : local
            guard value == 0xFFFF_FFFF else { continue }
            guard q + 8 <= body + len else { throw fail("member \(name): short zip64 field") }
            let v = ZipArchive.u64(b, q)
            if field == 0 { size = v } else if field == 1 { csize = v } else { local = v }
            q += 8
          }
        }
        e = body + len
      }
      guard flags & 1 == 0 else { throw fail("member \(name) is encrypted") }
      guard method == 0 || method == 8 else {
        throw fail("member \(name) uses compression method \(method); only stored (0) and deflate (8) are read")
      }
      guard size >= 0, csize >= 0, local >= 0, local <= fileSize - 30 else {
        throw fail("member \(name): offset or size outside the file")
      }
      out.append(Member(name: name, method: method, compressedSize: csize, size: size, crc: crc, localOffset: local))
      p = end
    }
    return out
  }

  /// The member called `name`, if any.
  func member(_ name: String) -> Member? { members.first { $0.name == name } }

  /// Where a member's data starts, checked against the file.
  func dataRange(_ m: Member) throws -> Range<Int> {
    let b = bytes
    let o = m.localOffset
    guard ZipArchive.u32(b, o) == 0x0403_4b50 else {
      throw DataError.badFormat(path: "\(path)[\(m.name)]", detail: "bad local header")
    }
    let start = o + 30 + ZipArchive.u16(b, o + 26) + ZipArchive.u16(b, o + 28)
    guard start <= b.count, m.compressedSize <= b.count - start else {
      throw DataError.truncated(path: "\(path)[\(m.name)]", expected: start + m.compressedSize, actual: b.count)
    }
    return start..<(start + m.compressedSize)
  }

  /// The member's whole content.
  ///
  /// - Throws: ``DataError`` naming `path[member]` for a truncated or corrupt
  ///   member, a CRC mismatch, an implausible size, or too little memory.
  func read(_ m: Member) throws -> [UInt8] {
    let where_ = "\(path)[\(m.name)]"
    let range = try dataRange(m)
    if m.method == 0 {
      guard m.size == m.compressedSize else {
        throw DataError.badFormat(
          path: where_, detail: "stored member claims \(m.size) bytes but holds \(m.compressedSize)")
      }
      let out = Array(bytes[range])
      try checkCRC(out, m)
      return out
    }
    guard m.size <= m.compressedSize * 1032 + 1024 else {
      throw DataError.badFormat(
        path: where_, detail: "claims \(m.size) bytes from \(m.compressedSize) compressed (impossible for deflate)")
    }
    try DataMemory.check(m.size, what: where_)
    let out = try inflate(range, limit: m.size, exact: true, name: where_)
    try checkCRC(out, m)
    return out
  }

  /// At most the first `count` bytes of the member (for reading a header without the data).
  func prefix(_ m: Member, count: Int) throws -> [UInt8] {
    let range = try dataRange(m)
    if m.method == 0 { return Array(bytes[range].prefix(min(count, m.size))) }
    return try inflate(range, limit: min(count, m.size), exact: false, name: "\(path)[\(m.name)]")
  }

  /// Raw-inflates `range` into at most `limit` bytes; with `exact`, the stream must end at exactly `limit`.
  ///
  /// zlib is called with at most `outputChunk` bytes of output room at a time (its counts are
  /// 32-bit). Choice: the loop runs until the output is full or zlib stops, not until the input is
  /// consumed: a highly compressed member (a 4 GiB zip64 member of 4 MB) has all its input taken in
  /// while output is still pending, and stopping there rejected it as truncated (issue #28).
  func inflate(
    _ range: Range<Int>, limit: Int, exact: Bool, name: String, outputChunk: Int = Int(UInt32.max)
  ) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: max(limit, 1))
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DataError.badFormat(path: name, detail: "cannot initialise zlib")
    }
    defer { inflateEnd(&stream) }
    var produced = 0, status: Int32 = Z_OK
    bytes.withUnsafeBufferPointer { inBuf in
      out.withUnsafeMutableBufferPointer { outBuf in
        var consumed = 0
        repeat {
          stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + range.lowerBound + consumed)
          stream.avail_in = UInt32(clamping: range.count - consumed)
          stream.next_out = outBuf.baseAddress! + produced
          // One byte of slack past `limit` detects members longer than claimed.
          stream.avail_out = UInt32(clamping: min(limit - produced, outBuf.count - produced, outputChunk))
          let before = (Int(stream.avail_in), Int(stream.avail_out))
          status = CZlib.inflate(&stream, Z_NO_FLUSH)
          consumed += before.0 - Int(stream.avail_in)
          produced += before.1 - Int(stream.avail_out)
          // No progress with room and input left cannot happen for Z_OK; stop rather than spin if it does.
          if status == Z_OK && before.0 == Int(stream.avail_in) && before.1 == Int(stream.avail_out) { break }
        } while status == Z_OK && produced < limit
      }
    }
    if exact {
      guard status == Z_STREAM_END || (status == Z_OK && produced == limit && stream.avail_in == 0) else {
        let why =
          status == Z_OK || status == Z_BUF_ERROR
          ? "the deflate stream is truncated or longer than claimed"
          : (stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
        throw DataError.badFormat(path: name, detail: "bad deflate data: \(why)")
      }
      guard produced == limit else {
        throw DataError.badFormat(path: name, detail: "inflates to \(produced) bytes, the archive says \(limit)")
      }
    } else if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
      throw DataError.badFormat(
        path: name, detail: "bad deflate data: \(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")")
    }
    out.removeSubrange(produced...)
    return out
  }

  func checkCRC(_ data: [UInt8], _ m: Member) throws {
    let crc = data.withUnsafeBufferPointer { p -> UInt32 in
      var c = crc32(0, nil, 0)
      var off = 0
      while off < p.count {  // crc32 takes a 32-bit length
        let n = min(p.count - off, 1 << 30)
        c = crc32(c, p.baseAddress! + off, UInt32(n))
        off += n
      }
      return UInt32(c)
    }
    guard crc == m.crc else {
      throw DataError.badFormat(path: "\(path)[\(m.name)]", detail: "CRC-32 mismatch (the member is corrupt)")
    }
  }

  // MARK: - Little-endian fields (0 past the end, so a short file fails its checks instead of trapping)

  static func u16(_ b: [UInt8], _ o: Int) -> Int {
    guard o >= 0, o + 2 <= b.count else { return 0 }
    return Int(b[o]) | Int(b[o + 1]) << 8
  }

  static func u32(_ b: [UInt8], _ o: Int) -> Int {
    guard o >= 0, o + 4 <= b.count else { return 0 }
    return u16(b, o) | u16(b, o + 2) << 16
  }

  /// A 64-bit field; values above Int.max come back negative, which every caller rejects.
  static func u64(_ b: [UInt8], _ o: Int) -> Int {
    guard o >= 0, o + 8 <= b.count else { return -1 }
    return Int(truncatingIfNeeded: UInt64(u32(b, o)) | UInt64(u32(b, o + 4)) << 32)
  }
}
