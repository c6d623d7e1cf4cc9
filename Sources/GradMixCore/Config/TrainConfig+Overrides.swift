import Yams

extension TrainConfig {
  // MARK: - Overrides

  /// Reads a config file, applies `key=value` overrides to its YAML node, and
  /// checks the result exactly as a file (see ``ConfigOverride``).
  ///
  /// An error about a field an override set names `command line` as its file
  /// (`error: command line: optimizer.lr: must be positive, got -1`); other
  /// errors name the config file.
  /// - Throws: ``ConfigError``.
  public static func load(path: String, overrides: [ConfigOverride]) throws -> TrainConfig {
    let text = try readText(path: path)
    guard !overrides.isEmpty else { return try parse(yaml: text, file: path) }
    return try parse(
      yaml: applying(overrides, to: text, file: path), file: path, overrides: overrides, original: text)
  }

  /// The config text with the overrides applied (re-serialised from the node,
  /// so comments are lost); `text` itself when there are none.
  /// - Throws: ``ConfigError`` for YAML that does not parse or an override that cannot be applied.
  public static func applying(_ overrides: [ConfigOverride], to text: String, file: String) throws -> String {
    guard !overrides.isEmpty else { return text }
    var node: Node
    do {
      node = try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
    } catch {
      throw ConfigError(file: file, field: "", "not valid YAML: \(error)")
    }
    for o in overrides { node = try o.apply(to: node) }
    do {
      return try Yams.serialize(node: node)
    } catch {
      throw ConfigError(file: file, field: "", "cannot write the config back as YAML: \(error)")
    }
  }

  /// ``parse(yaml:file:)`` with errors about overridden fields attributed to the command line.
  ///
  /// An error about a field no override set, but that the file alone (`original`) does not
  /// have, comes from a rule across fields that an override broke (`classes=5` against the
  /// file's `model.spec` with 10 outputs): it names the command line too, and the overrides.
  public static func parse(
    yaml text: String, file: String, overrides: [ConfigOverride], original: String? = nil
  ) throws -> TrainConfig {
    do {
      return try parse(yaml: text, file: file)
    } catch let e as ConfigError {
      throw ConfigOverride.attributing(
        e, to: overrides, fileAlone: original.map { o in { try parse(yaml: o, file: file) } })
    }
  }
}
