import Foundation

/// How the run records (``MetricsRecord``, ``RunSummary``, ``RunInfo``) are
/// written and read: JSON with sorted keys; a non-finite number is written as
/// `null` (JSON has no NaN) and a `null` in a list or map of numbers reads back as NaN.
///
/// Choice: records are read leniently (``Lenient``): a field that is missing,
/// null or of another type reads as nil, and the rest of the record survives;
/// an old run or an interrupted write still reports. A key renamed since older
/// runs were written reads as its current name (``formerKeys``).
public enum RecordCoding {
  /// Stands in for a non-finite number while encoding; replaced by `null` in the bytes.
  /// A NUL-led string, so no name or path a record holds spells it.
  static let nonFinite = "\u{0}non-finite"

  /// The record's JSON bytes (`pretty`: indented, as summary.json and run.json are).
  public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: nonFinite, negativeInfinity: nonFinite, nan: nonFinite)
    let data = try encoder.encode(value)
    let marker = Data(("\"" + #"\u0000non-finite"# + "\"").utf8)
    guard data.range(of: marker) != nil else { return data }
    var out = Data(capacity: data.count)
    var rest = data[...]
    while let r = rest.range(of: marker) {
      out.append(rest[rest.startIndex..<r.lowerBound])
      out.append(contentsOf: Array("null".utf8))
      rest = rest[r.upperBound...]
    }
    out.append(rest)
    return out
  }

  /// Top-level keys renamed since older runs were written, former → current (issue #27:
  /// the evaluated split's accuracy and loss were `target_test_*` even under `--eval-split validation`).
  /// No version writes both names in one record.
  public static let formerKeys = ["target_test_accuracy": "target_accuracy", "target_test_loss": "target_loss"]

  /// A record read from JSON bytes; nil when they hold no JSON object.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .custom { path in
      let key = path[path.count - 1]
      guard path.count == 1, let current = formerKeys[key.stringValue] else { return key }
      return RenamedKey(stringValue: current)
    }
    return try? decoder.decode(T.self, from: data)
  }

  /// A record read from the file at `path`; nil when it is missing or not a JSON object.
  public static func read<T: Decodable>(_ type: T.Type, path: String) -> T? {
    FileManager.default.contents(atPath: path).flatMap { decode(T.self, from: $0) }
  }

  /// The record's top-level fields by JSON key (for look-ups by a name the user gives,
  /// such as `gradmix table --by seed`).
  public static func fields<T: Encodable>(of value: T) -> [String: JSONValue] {
    guard let data = try? encode(value), case .object(let o)? = decode(JSONValue.self, from: data) else { return [:] }
    return o
  }
}

/// A key as ``RecordCoding/formerKeys`` renames it.
private struct RenamedKey: CodingKey {
  let stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}
