import Foundation

/// How the run records (``MetricsRecord``, ``RunSummary``, ``RunInfo``) are
/// written and read: JSON with sorted keys; a non-finite number is written as
/// `null` (JSON has no NaN) and a `null` in a list or map of numbers reads back as NaN.
///
/// Choice: records are read leniently (``KeyedDecodingContainer/lenient(_:)``):
/// a field that is missing, null or of another type reads as nil, and the rest
/// of the record survives; an old run or an interrupted write still reports.
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

  /// A record read from JSON bytes; nil when they hold no JSON object.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
    try? JSONDecoder().decode(T.self, from: data)
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

extension KeyedDecodingContainer {
  /// The value at `key`, or nil when it is missing, null or of another type.
  public func lenient<T: Decodable>(_ key: Key) -> T? { (try? decodeIfPresent(T.self, forKey: key)) ?? nil }

  /// A list of numbers whose nulls (non-finite when written) read as NaN.
  public func numbers(_ key: Key) -> [Double]? {
    (lenient(key) as [Double?]?).map { $0.map { $0 ?? .nan } }
  }

  /// A map of numbers whose nulls read as NaN.
  public func numberMap(_ key: Key) -> [String: Double]? {
    (lenient(key) as [String: Double?]?).map { $0.mapValues { $0 ?? .nan } }
  }

  /// A map of lists of numbers whose nulls read as NaN.
  public func numberLists(_ key: Key) -> [String: [Double]]? {
    (lenient(key) as [String: [Double?]]?).map { $0.mapValues { $0.map { $0 ?? .nan } } }
  }
}
