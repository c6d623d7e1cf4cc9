import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension DigitsCSV {
  // MARK: - Footprint

  /// What reading a digits CSV holds, from its size only: the file as stored,
  /// its inflated text (a gzip file's `ISIZE` trailer), and the pixels of at
  /// most one row per `2 * columns` bytes of text (a digit and a comma per
  /// column), held up to twice while the array grows.
  ///
  /// - Throws: the file errors of ``FileBytes/readRaw(_:)``.
  static func footprint(_ path: String, side: Int) throws -> DataFootprint {
    var st = stat()
    guard stat(path, &st) == 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw DataError.fileNotFound(path: path) }
      throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw DataError.notAFile(path: path) }
    let stored = Int(st.st_size)
    var text = stored
    if let handle = FileHandle(forReadingAtPath: path), stored >= 18 {
      defer { try? handle.close() }
      let magic = handle.readData(ofLength: 2)
      if magic == Data([0x1f, 0x8b]) {
        handle.seek(toFileOffset: UInt64(stored - 4))
        let t = [UInt8](handle.readData(ofLength: 4))
        if t.count == 4 { text = Int(t[0]) | Int(t[1]) << 8 | Int(t[2]) << 16 | Int(t[3]) << 24 }
      }
    }
    let columns = side * side + 1
    let rows = text / (2 * columns) + 1
    let pixels = Double(rows) * Double(side * side)
    return DataFootprint(
      what: path, count: rows, heldBytes: pixels + 4 * Double(rows),
      peakBytes: Double(stored) + Double(text) + 2 * pixels + 8 * Double(rows))
  }
}
