import Foundation

/// Why input data or a data configuration was rejected.
///
/// Every case names the file (or the config field) and the fault, and
/// `description` is one sentence of the form `<file or field>: <fault>`, so
/// the command line can print it as `error: <description>`.
public enum DataError: Error, CustomStringConvertible, Equatable {
  case fileNotFound(path: String)
  /// The path exists but is a directory (or another non-regular file).
  case notAFile(path: String)
  case unreadable(path: String, reason: String)
  case empty(path: String)
  /// The file (after gzip decompression) holds fewer bytes than its header needs.
  case truncated(path: String, expected: Int, actual: Int)
  /// The first four bytes are not an IDX uint8 magic number (0x00000801 to 0x00000804).
  case badMagic(path: String, found: UInt32)
  case dimensionMismatch(path: String, detail: String)
  /// The file (after decompression) holds more bytes than its header says.
  case trailingBytes(path: String, count: Int)
  case labelOutOfRange(path: String, index: Int, label: Int, range: Range<Int>)
  /// A CSV or TSV line is malformed; `line` counts from 1.
  case badCSV(path: String, line: Int, detail: String)
  case gzip(path: String, detail: String)
  case badYAML(path: String, detail: String)
  case unknownDomain(name: String, known: [String])
  case unknownTransform(op: String, known: [String])
  /// A config value is wrong; `field` is a dotted path such as `domains.foo.transforms[1].degrees`.
  case badConfig(field: String, detail: String)
  /// A task asks for a class that has no sample in its domain.
  case classNotInDomain(field: String, label: Int, imageCount: Int)
  /// A split or subset needs more samples than there are.
  case notEnoughSamples(what: String, needed: Int, available: Int)
  case writeFailed(path: String, reason: String)
  /// A saved sampler state does not fit this sampler.
  case badState(detail: String)
  /// The file's content breaks its format (zip, npy, PNG, JPEG); `path` may name a member, as `a.npz[x_train.npy]`.
  case badFormat(path: String, detail: String)
  /// The data's shape does not fit `model.input`; `what` names the domain or file.
  case shapeMismatch(what: String, data: String, model: [Int])
  /// Holding the data would need more memory than the machine has available.
  case outOfMemory(what: String, needed: Int, available: Int)

  public var description: String {
    switch self {
    case .fileNotFound(let p): return "\(p): file not found"
    case .notAFile(let p): return "\(p): is a directory (or another special file), not a regular file"
    case .unreadable(let p, let r): return "\(p): cannot read the file: \(r)"
    case .empty(let p): return "\(p): the file is empty"
    case .truncated(let p, let e, let a):
      return "\(p): the file is truncated: its header needs \(e) bytes but it holds \(a)"
    case .badMagic(let p, let f):
      let hex = String(f, radix: 16)
      return
        "\(p): not a uint8 IDX file: magic number 0x\(String(repeating: "0", count: max(0, 8 - hex.count)) + hex), "
        + "expected 0x00000801 to 0x00000804"
    case .dimensionMismatch(let p, let d): return "\(p): wrong dimensions: \(d)"
    case .trailingBytes(let p, let n): return "\(p): \(n) unexpected bytes after the data its header describes"
    case .labelOutOfRange(let p, let i, let l, let r):
      return "\(p): label \(l) at index \(i) is outside \(r.lowerBound)..<\(r.upperBound)"
    case .badCSV(let p, let l, let d): return "\(p): line \(l): \(d)"
    case .gzip(let p, let d): return "\(p): bad gzip data: \(d)"
    case .badYAML(let p, let d): return "\(p): not valid YAML: \(d)"
    case .unknownDomain(let n, let k): return "\(n): unknown domain; known domains: \(k.joined(separator: ", "))"
    case .unknownTransform(let o, let k):
      return "\(o): unknown transform; known transforms: \(k.joined(separator: ", "))"
    case .badConfig(let f, let d): return "\(f): \(d)"
    case .classNotInDomain(let f, let l, let n): return "\(f): class \(l) has no sample among the domain's \(n) images"
    case .notEnoughSamples(let w, let n, let a): return "\(w): needs \(n) samples but only \(a) are available"
    case .writeFailed(let p, let r): return "\(p): cannot write the file: \(r)"
    case .badState(let d): return "sampler state: \(d)"
    case .badFormat(let p, let d): return "\(p): \(d)"
    case .shapeMismatch(let w, let d, let m):
      return "\(w): the data's samples are \(d) but model.input is \(m)"
    case .outOfMemory(let w, let n, let a):
      return "\(w): needs \(DataError.mebibytes(n)) of memory but only \(DataError.mebibytes(a)) are available"
    }
  }

  /// `n` bytes as "12.3 MiB".
  static func mebibytes(_ n: Int) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }
}
