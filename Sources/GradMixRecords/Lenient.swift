/// A record field read leniently: missing, null or of another type, it reads as
/// nil and the rest of the record survives (an old run or an interrupted write
/// still reports). It is written as the plain value, and left out when nil.
///
/// In a list or map of numbers a `null` (a non-finite number, as ``RecordCoding``
/// writes it) reads as NaN.
///
/// Choice: the records' synthesized `Codable` does the work; the overloads of
/// `KeyedDecodingContainer.decode` and `KeyedEncodingContainer.encode` below make
/// a missing key read as nil and a nil value be left out, as `decodeIfPresent`
/// and `encodeIfPresent` do for a plain optional.
@propertyWrapper
public struct Lenient<Value: Codable>: Codable {
  public var wrappedValue: Value?

  public init() {}

  public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

  public init(from decoder: Decoder) throws {
    wrappedValue = try? decoder.singleValueContainer().decode(Value.self)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(wrappedValue)
  }
}

extension Lenient: Equatable where Value: Equatable {}
extension Lenient: Sendable where Value: Sendable {}

extension KeyedDecodingContainer {
  /// A ``Lenient`` field: nil when its key is missing, null or of another type.
  public func decode<T>(_ type: Lenient<T>.Type, forKey key: Key) throws -> Lenient<T> {
    Lenient(wrappedValue: value(T.self, key))
  }

  /// A list of numbers whose nulls read as NaN.
  public func decode(_ type: Lenient<[Double]>.Type, forKey key: Key) throws -> Lenient<[Double]> {
    Lenient(wrappedValue: value([Double?].self, key).map { $0.map { $0 ?? .nan } })
  }

  /// A map of numbers whose nulls read as NaN.
  public func decode(_ type: Lenient<[String: Double]>.Type, forKey key: Key) throws -> Lenient<[String: Double]> {
    Lenient(wrappedValue: value([String: Double?].self, key).map { $0.mapValues { $0 ?? .nan } })
  }

  /// A map of lists of numbers whose nulls read as NaN.
  public func decode(
    _ type: Lenient<[String: [Double]]>.Type, forKey key: Key
  ) throws -> Lenient<[String: [Double]]> {
    Lenient(wrappedValue: value([String: [Double?]].self, key).map { $0.mapValues { $0.map { $0 ?? .nan } } })
  }

  /// The value at `key`, or nil when it is missing, null or of another type.
  private func value<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
    (try? decodeIfPresent(T.self, forKey: key)) ?? nil
  }
}

extension KeyedEncodingContainer {
  /// A ``Lenient`` field: its value, or nothing when nil.
  public mutating func encode<T>(_ value: Lenient<T>, forKey key: Key) throws {
    try encodeIfPresent(value.wrappedValue, forKey: key)
  }
}
