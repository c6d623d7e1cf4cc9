/// A configuration the trainer cannot use. Every case names the file and the
/// field (as a path such as `sources[1].batch_size`) and the fault.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
  public let file: String
  public let field: String
  public let detail: String

  public init(file: String, field: String, _ detail: String) {
    self.file = file; self.field = field; self.detail = detail
  }

  public var description: String {
    field.isEmpty ? "\(file): \(detail)" : "\(file): \(field): \(detail)"
  }
}
