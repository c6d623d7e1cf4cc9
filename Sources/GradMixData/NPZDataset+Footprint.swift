import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension NPZDataset {
  // MARK: - Footprint

  /// What ``load(path:part:arrays:layout:shape:)`` holds, from the zip's central
  /// directory and the two npy headers only; nil if the archive has no arrays for `part`.
  ///
  /// Loading holds the whole archive as stored, each member's content (inflated),
  /// the labels as `Int32`, and the samples: uint8 pixels (one more copy for
  /// channels-first images) or float features.
  ///
  /// - Throws: the file errors, and ``DataError/badFormat(path:detail:)`` for an
  ///   archive whose directory or headers cannot be read.
  static func footprint(path: String, part: String, arrays: [String: String], layout: String?) throws
    -> DataFootprint?
  {
    let file = try Window(path)
    let tail = try file.read(at: max(0, file.size - 22 - 65535 - 56), count: 22 + 65535 + 56)
    let (entries, cdSize, cdOffset) = try ZipArchive.directoryLocation(
      tail, base: max(0, file.size - 22 - 65535 - 56), path: path)
    // The directory itself: 46 bytes and a name per member; an absurd one is the reader's to refuse.
    guard cdSize <= 1 << 26 else {
      throw DataError.badFormat(path: path, detail: "central directory of \(cdSize) bytes")
    }
    let members = try ZipArchive.directory(
      try file.read(at: cdOffset, count: cdSize), entries: entries, fileSize: file.size, path: path)
    func find(_ name: String) -> ZipArchive.Member? {
      members.first { $0.name == name + ".npy" } ?? members.first { $0.name == name }
    }
    guard let xm = find(arrays["x_\(part)"] ?? "x_\(part)") else { return nil }
    guard let ym = find(arrays["y_\(part)"] ?? "y_\(part)") else { return nil }
    let xh = try header(xm, file: file, path: path)
    let kind = try classify(xh, layout: layout, name: "\(path)[\(xm.name)]")
    let n = xh.shape.first ?? 0
    let stored = Double(xh.count)
    let held = (kind.isFeatures ? 4 * stored : stored) + 4 * Double(n)
    var copy = 0.0  // channels-first images are copied to channels-last
    if case .images(_, _, _, true) = kind { copy = stored }
    let peak = Double(file.size) + Double(xm.size) + Double(ym.size) + held + copy
    return DataFootprint(what: "\(path)[\(xm.name)]", count: n, heldBytes: held, peakBytes: peak)
  }

  /// The npy header of member `m`, read from its local header and the start of its data.
  static func header(_ m: ZipArchive.Member, file: Window, path: String) throws -> NPY.Header {
    let local = try file.read(at: m.localOffset, count: 30)
    let start = 30 + ZipArchive.u16(local, 26) + ZipArchive.u16(local, 28)
    // A deflated npy header of at most 64 KiB fits in its first 1 MiB of compressed data.
    let window = try file.read(at: m.localOffset, count: start + min(m.compressedSize, 1 << 20))
    let member = ZipArchive.Member(
      name: m.name, method: m.method, compressedSize: max(0, window.count - start), size: m.size, crc: m.crc,
      localOffset: 0)
    let zip = ZipArchive(path: path, bytes: window, members: [member])
    return try NPY.header(try zip.prefix(member, count: NPY.maxHeader + 12), name: "\(path)[\(m.name)]")
  }

  /// Reads parts of a file by offset.
  final class Window {
    let path: String
    let size: Int
    private let fd: Int32

    init(_ path: String) throws {
      self.path = path
      (fd, size) = try openDataFile(path)
    }

    deinit { close(fd) }

    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    func read(at offset: Int, count: Int) throws -> [UInt8] {
      let n = max(0, min(count, size - offset))
      var out = [UInt8](repeating: 0, count: n)
      var got = 0
      while got < n {
        let r = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n - got, off_t(offset + got)) }
        if r < 0 && errno == EINTR { continue }
        guard r > 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        got += r
      }
      return out
    }
  }
}

extension NPZDataset.Kind {
  var isFeatures: Bool {
    if case .features = self { return true }
    return false
  }
}
