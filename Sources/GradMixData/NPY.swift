import Foundation

/// Reads NumPy `.npy` arrays (format versions 1-3), as stored inside `.npz` files.
///
/// Layout (numpy.lib.format): the magic `\x93NUMPY`, two version bytes, the
/// header length (2 bytes little endian in version 1, 4 in versions 2 and 3),
/// then a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }`, then
/// the values in C order. Only little-endian (or byte) integer and float
/// types are read; Fortran-ordered arrays are refused with a hint.
enum NPY {
  /// An element type.
  enum DType: String, Sendable {
    case u1 = "u1", i1 = "i1", u2 = "u2", i2 = "i2", u4 = "u4", i4 = "i4", u8 = "u8", i8 = "i8"
    case f4 = "f4", f8 = "f8"

    var size: Int {
      switch self {
      case .u1, .i1: return 1
      case .u2, .i2: return 2
      case .u4, .i4, .f4: return 4
      case .u8, .i8, .f8: return 8
      }
    }

    var isFloat: Bool { self == .f4 || self == .f8 }
  }

  /// An array's header: its element type, shape and where its data starts.
  struct Header: Equatable {
    let dtype: DType
    let shape: [Int]
    let dataOffset: Int
    /// Values in the array.
    var count: Int { shape.reduce(1, *) }
  }

  /// The largest header accepted (numpy itself writes a few hundred bytes).
  static let maxHeader = 65536

  /// Parses the header at the start of `bytes` (which may hold only a prefix of the array).
  ///
  /// - Parameter name: the file or member, for errors.
  /// - Throws: ``DataError/badFormat(path:detail:)`` for a wrong magic, a malformed or
  ///   unsupported header, or dimensions whose size overflows.
  static func header(_ bytes: [UInt8], name: String) throws -> Header {
    func fail(_ d: String) -> DataError { DataError.badFormat(path: name, detail: "not a readable .npy array: \(d)") }
    let magic: [UInt8] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("no \\x93NUMPY magic") }
    let major = Int(bytes[6])
    let len: Int, start: Int
    switch major {
    case 1:
      len = Int(bytes[8]) | Int(bytes[9]) << 8
      start = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw fail("truncated header") }
      len = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      start = 12
    default:
      throw fail("format version \(major) (known: 1, 2, 3)")
    }
    guard len <= maxHeader else { throw fail("header of \(len) bytes (at most \(maxHeader))") }
    guard start + len <= bytes.count else { throw fail("truncated header") }
    let text = String(decoding: bytes[start..<(start + len)], as: UTF8.self)
    guard let descr = value(of: "descr", in: text), let order = value(of: "fortran_order", in: text),
      let shapeText = value(of: "shape", in: text)
    else { throw fail("header lacks descr, fortran_order or shape: \(text.prefix(120))") }
    let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
    guard d.count >= 2, let endian = d.first, let dtype = DType(rawValue: String(d.dropFirst())),
      endian == "<" || endian == "|" || (endian == "=" && dtype.size == 1)
    else {
      throw fail("element type \(d) is not supported (use little-endian uint8, int8-64, uint16-64, float32 or float64)")
    }
    guard order == "False" else {
      throw fail("Fortran-ordered array; save it with np.ascontiguousarray(x)")
    }
    let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
    var shape = [Int]()
    for part in inner.split(separator: ",") {
      let t = part.trimmingCharacters(in: .whitespaces)
      if t.isEmpty { continue }
      guard let v = Int(t), v >= 0 else { throw fail("bad shape \(shapeText)") }
      shape.append(v)
    }
    guard let n = DataMemory.product(shape), n.multipliedReportingOverflow(by: dtype.size).overflow == false else {
      throw fail("shape \(shape) is too large")
    }
    return Header(dtype: dtype, shape: shape, dataOffset: start + len)
  }

  /// The text of `key`'s value in a Python dict literal: a quoted string, a word, or a parenthesised tuple.
  static func value(of key: String, in text: String) -> String? {
    for quote in ["'", "\""] {
      guard let r = text.range(of: "\(quote)\(key)\(quote)") else { continue }
      var rest = text[r.upperBound...].drop { $0 == " " }
      guard rest.first == ":" else { return nil }
      rest = rest.dropFirst().drop { $0 == " " }
      if rest.first == "(" {
        guard let close = rest.firstIndex(of: ")") else { return nil }
        return String(rest[...close])
      }
      if let q = rest.first, q == "'" || q == "\"" {
        guard let close = rest.dropFirst().firstIndex(of: q) else { return nil }
        return String(rest[...close])
      }
      return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }
    return nil
  }

  /// Checks that `bytes` (a whole `.npy` file) holds exactly the values its header describes.
  ///
  /// - Throws: ``DataError/truncated(path:expected:actual:)`` or ``DataError/trailingBytes(path:count:)``.
  static func checkLength(_ h: Header, bytes: Int, name: String) throws {
    let expected = h.dataOffset + h.count * h.dtype.size
    if bytes < expected { throw DataError.truncated(path: name, expected: expected, actual: bytes) }
    if bytes > expected { throw DataError.trailingBytes(path: name, count: bytes - expected) }
  }

  /// Value `i` of the array as a Double (integers exactly up to 2^53).
  @inline(__always)
  static func element(_ p: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Double {
    switch dtype {
    case .u1: return Double(p.load(fromByteOffset: i, as: UInt8.self))
    case .i1: return Double(p.load(fromByteOffset: i, as: Int8.self))
    case .u2: return Double(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
    case .i2: return Double(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
    case .u4: return Double(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
    case .i4: return Double(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
    case .u8: return Double(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
    case .i8: return Double(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
    case .f4:
      return Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
    case .f8: return Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
    }
  }
}
