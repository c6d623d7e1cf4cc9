/// A record field read leniently: missing, null or of another type, it reads as
/// nil and the rest of the record survives (an old run or an interrupted write
/// still reports). It is written as the plain value, and left out when nil.
///
/// Numbers in lists and maps read a `null` (a non-finite number, as
/// ``RecordCoding`` writes it) as NaN.
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
    if let numbers = Value.self as? NullAsNaN.Type {
      wrappedValue = (try? numbers.init(nullsAsNaN: decoder)) as? Value
    } else {
      wrappedValue = try? decoder.singleValueContainer().decode(Value.self)
    }
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
    (try? decodeIfPresent(type, forKey: key)) ?? Lenient()
  }
}

extension KeyedEncodingContainer {
  /// A ``Lenient`` field: its value, or nothing when nil.
  public mutating func encode<T>(_ value: Lenient<T>, forKey key: Key) throws {
    try encodeIfPresent(value.wrappedValue, forKey: key)
  }
}

/// Numbers, and lists and maps of them, whose nested nulls (non-finite numbers
/// when written) read as NaN.
protocol NullAsNaN: Decodable {
  init(nullsAsNaN decoder: Decoder) throws
}

extension Double: NullAsNaN {
  init(nullsAsNaN decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    self = c.decodeNil() ? .nan : try c.decode(Double.self)
  }
}

extension Array: NullAsNaN where Element: NullAsNaN {
  init(nullsAsNaN decoder: Decoder) throws { self = try [NaNFilled<Element>](from: decoder).map(\.value) }
}

extension Dictionary: NullAsNaN where Key == String, Value: NullAsNaN {
  init(nullsAsNaN decoder: Decoder) throws { self = try [String: NaNFilled<Value>](from: decoder).mapValues(\.value) }
}

/// An element of a list or map of numbers, read with ``NullAsNaN``.
private struct NaNFilled<T: NullAsNaN>: Decodable {
  let value: T
  init(from decoder: Decoder) throws { value = try T(nullsAsNaN: decoder) }
}
