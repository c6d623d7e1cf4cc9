/// A record field written once it is set, as `null` when set to nil, and left
/// out while never set (summary.json's `last_checkpoint`: a diverged run names
/// its newest checkpoint, null when none is left). Read leniently, as ``Lenient``.
@propertyWrapper
public struct ExplicitNull<Value: Codable>: Codable {
  public private(set) var isSet = false
  private var field = Lenient<Value>()

  public var wrappedValue: Value? {
    get { field.wrappedValue }
    set {
      field.wrappedValue = newValue
      isSet = true
    }
  }

  public init() {}

  public init(from decoder: Decoder) throws {
    field = try Lenient(from: decoder)
    isSet = true
  }

  public func encode(to encoder: Encoder) throws { try field.encode(to: encoder) }
}

extension ExplicitNull: Equatable where Value: Equatable {}
extension ExplicitNull: Sendable where Value: Sendable {}

extension KeyedDecodingContainer {
  /// An ``ExplicitNull`` field: set (possibly to nil) when its key is present.
  public func decode<T>(_ type: ExplicitNull<T>.Type, forKey key: Key) throws -> ExplicitNull<T> {
    guard contains(key) else { return ExplicitNull() }
    var field = ExplicitNull<T>()
    field.wrappedValue = try decode(Lenient<T>.self, forKey: key).wrappedValue
    return field
  }
}

extension KeyedEncodingContainer {
  /// An ``ExplicitNull`` field: its value or `null` once set, nothing before.
  public mutating func encode<T>(_ value: ExplicitNull<T>, forKey key: Key) throws {
    if value.isSet { try encode(value.wrappedValue, forKey: key) }
  }
}
