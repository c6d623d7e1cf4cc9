import Yams

/// One `key=value` override from the command line, such as
/// `optimizer.lr=0.05` or `sources[1].limit=500`.
///
/// Overrides are applied to the parsed YAML node of the config before it is
/// decoded, so the file and the command line share one validation path:
/// unknown keys (with a suggestion), types and ranges are checked exactly as
/// if the value had been written in the file. Choice: Hydra's override
/// grammar (`a.b=1`), restricted to setting values; list items are addressed
/// by index and must exist, mappings are created as needed.
public struct ConfigOverride: Equatable, Sendable, CustomStringConvertible {
  /// One step of the key path.
  public enum Component: Equatable, Sendable {
    case key(String)
    case index(Int)
  }

  /// The key path, e.g. `[.key("sources"), .index(1), .key("limit")]`.
  public let path: [Component]
  /// The value as written (parsed as YAML, so `[1, 2]` and `{kind: cosine}` work).
  public let value: String

  /// The key path as the config errors write it (`sources[1].limit`).
  public var field: String {
    var s = ""
    for c in path {
      switch c {
      case .key(let k): s += s.isEmpty ? k : ".\(k)"
      case .index(let i): s += "[\(i)]"
      }
    }
    return s
  }

  public var description: String { "\(field)=\(value)" }

  /// Parses `KEY=VALUE`.
  /// - Throws: ``ConfigError`` (file `command line`) for a malformed key or a missing value.
  public init(parsing text: String) throws {
    guard let eq = text.firstIndex(of: "=") else {
      throw ConfigError(file: ConfigOverride.origin, field: text, "an override is KEY=VALUE (e.g. optimizer.lr=0.05)")
    }
    let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
    guard !value.isEmpty else { throw ConfigError(file: ConfigOverride.origin, field: key, "needs a value after '='") }
    var path: [Component] = []
    var rest = Substring(key)
    func bad() -> ConfigError {
      ConfigError(
        file: ConfigOverride.origin, field: key, "not a key path (write e.g. optimizer.lr or sources[1].limit)")
    }
    while !rest.isEmpty {
      if rest.first == "[" {
        guard let close = rest.firstIndex(of: "]"), let i = Int(rest[rest.index(after: rest.startIndex)..<close]),
          i >= 0
        else { throw bad() }
        path.append(.index(i))
        rest = rest[rest.index(after: close)...]
        if rest.first == "." { rest = rest.dropFirst(); guard !rest.isEmpty else { throw bad() } }
      } else {
        let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
        let name = rest[..<end]
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
          throw bad()
        }
        path.append(.key(String(name)))
        rest = rest[end...]
        if rest.first == "." { rest = rest.dropFirst(); guard !rest.isEmpty else { throw bad() } }
      }
    }
    guard case .key = path.first else { throw bad() }
    self.path = path
    self.value = value
  }

  /// What config errors caused by an override name as their file.
  public static let origin = "command line"

  // MARK: - Applying

  /// Returns `root` with the value set at the path (creating missing mappings).
  /// - Throws: ``ConfigError`` when the path crosses a value that is not a
  ///   mapping or list, or indexes past a list's end.
  public func apply(to root: Node) throws -> Node {
    let valueNode: Node
    do {
      valueNode = try Yams.compose(yaml: value) ?? Node("", Tag(.null))
    } catch {
      throw ConfigError(file: ConfigOverride.origin, field: field, "the value is not valid YAML: \(value)")
    }
    // Aliases are shared when composed but expand when the config is written out or checked: a
    // 1 KB alias bomb ran 60 s to 8.3 GB (issue #28). Counted with an early stop, so the count is cheap.
    guard ConfigOverride.nodeCount(valueNode, limit: ConfigOverride.maxNodes) <= ConfigOverride.maxNodes else {
      throw ConfigError(
        file: ConfigOverride.origin, field: field,
        "the value expands to more than \(ConfigOverride.maxNodes) YAML nodes (aliases?)")
    }
    return try set(root, at: path[...], to: valueNode, done: "")
  }

  /// The most YAML nodes an override's value may expand to. Choice: far above any real value (a
  /// list of a few hundred class indices), far below what takes noticeable time or memory.
  static let maxNodes = 100_000

  /// The nodes of `node`, aliases expanded, counting stops past `limit`.
  static func nodeCount(_ node: Node, limit: Int) -> Int {
    var count = 0
    var stack = [node]
    while let n = stack.popLast() {
      count += 1
      if count > limit { return count }
      switch n {
      case .mapping(let m): for (k, v) in m { stack.append(k); stack.append(v) }
      case .sequence(let q): stack.append(contentsOf: q)
      default: break
      }
    }
    return count
  }

  private func set(_ node: Node?, at path: ArraySlice<Component>, to value: Node, done: String) throws -> Node {
    guard let first = path.first else { return value }
    switch first {
    case .key(let k):
      let here = done.isEmpty ? k : "\(done).\(k)"
      var pairs: [(Node, Node)] = []
      switch node {
      case nil: break
      case .mapping(let m)?: pairs = m.map { ($0.key, $0.value) }
      case let other?:
        if other.null != nil { break }
        throw ConfigError(file: ConfigOverride.origin, field: done, "is not a mapping, so it has no key '\(k)'")
      }
      if let i = pairs.firstIndex(where: { $0.0.string == k }) {
        pairs[i].1 = try set(pairs[i].1, at: path.dropFirst(), to: value, done: here)
      } else {
        pairs.append((Node(k), try set(nil, at: path.dropFirst(), to: value, done: here)))
      }
      return .mapping(Node.Mapping(pairs))
    case .index(let i):
      let here = "\(done)[\(i)]"
      guard case .sequence(var seq)? = node else {
        throw ConfigError(file: ConfigOverride.origin, field: done, "is not a list, so it has no item [\(i)]")
      }
      guard i < seq.count else {
        throw ConfigError(file: ConfigOverride.origin, field: here, "out of range: the list has \(seq.count) item(s)")
      }
      seq[i] = try set(seq[i], at: path.dropFirst(), to: value, done: here)
      return .sequence(seq)
    }
  }

  /// Whether an error about `errorField` concerns this override: the field
  /// is the override's path, lies under it, or contains it.
  /// `error` restated with the file `command line` when it concerns a field an override set, or when
  /// `fileAlone` (checking the config without the overrides) does not fail with the same error (a rule
  /// across fields that an override broke; the overrides are listed then). Other errors are the file's.
  public static func attributing(
    _ error: Error, to overrides: [ConfigOverride], fileAlone: (() throws -> Any)? = nil
  ) -> Error {
    guard let e = error as? ConfigError, !overrides.isEmpty, e.file != origin else { return error }
    if overrides.contains(where: { $0.concerns(e.field) }) {
      return ConfigError(file: origin, field: e.field, e.detail)
    }
    guard let fileAlone else { return error }
    do {
      _ = try fileAlone()
    } catch let alone as ConfigError where alone.field == e.field && alone.detail == e.detail {
      return error
    } catch {}
    return ConfigError(
      file: origin, field: e.field, e.detail + " (with \(overrides.map(\.description).joined(separator: " ")))")
  }

  func concerns(_ errorField: String) -> Bool {
    let f = field
    if errorField == f { return true }
    if errorField.hasPrefix(f + ".") || errorField.hasPrefix(f + "[") { return true }
    return !errorField.isEmpty && (f.hasPrefix(errorField + ".") || f.hasPrefix(errorField + "["))
  }
}
