import Foundation
import Yams

extension DomainCatalog {
  // MARK: - YAML

  /// Reads the top-level `domains:` mapping of a YAML config.
  ///
  /// Other top-level keys are ignored here (they belong to the run config).
  /// Each domain is a mapping with `base` (required) and `transforms`
  /// (optional); each step is `{op: NAME, PARAM: NUMBER, ...}` or a bare op name:
  ///
  ///     domains:
  ///       mnist-rot:
  ///         base: mnist
  ///         transforms:
  ///           - {op: rotate, degrees: 30}
  ///           - invert
  ///
  /// A `base` may also be a dataset on disk (``DiskDataset``), e.g.
  /// `base: {format: imagefolder, path: shapes}`; its relative paths resolve
  /// against the folder of `file`.
  ///
  /// Only the structure is checked here; ops and parameters are checked by
  /// ``init(dataRoot:custom:sampleShape:)``.
  ///
  /// - Parameters:
  ///   - yaml: the config text.
  ///   - file: the config's path, for error messages.
  /// - Returns: the domains by name (empty if there is no `domains:` key).
  /// - Throws: ``DataError/badYAML(path:detail:)`` for text that is not YAML, and
  ///   ``DataError/badConfig(field:detail:)`` naming `domains`, `domains.<name>`,
  ///   `domains.<name>.<key>` or `domains.<name>.transforms[i]...` for a wrong type,
  ///   a missing `base` or an unknown key.
  public static func parseDomains(yaml: String, file: String) throws -> [String: DomainSpec] {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch {
      throw DataError.badYAML(path: file, detail: "\(error)".split(separator: "\n").joined(separator: " "))
    }
    guard let root else { return [:] }
    guard let top = root.mapping else {
      throw DataError.badConfig(field: "\(file)", detail: "the config must be a mapping of keys to values")
    }
    guard let domainsNode = top["domains"] else { return [:] }
    if domainsNode.null != nil { return [:] }
    guard let domains = domainsNode.mapping else {
      throw DataError.badConfig(field: "domains", detail: "must be a mapping from domain names to {base, transforms}")
    }
    var out = [String: DomainSpec]()
    for (keyNode, value) in domains {
      guard let name = keyNode.scalar?.string, !name.isEmpty else {
        throw DataError.badConfig(field: "domains", detail: "a domain name must be a non-empty string\(at(keyNode))")
      }
      let field = "domains.\(name)"
      guard out[name] == nil else { throw DataError.badConfig(field: field, detail: "is defined twice\(at(keyNode))") }
      guard let m = value.mapping else {
        throw DataError.badConfig(field: field, detail: "must be a mapping with 'base' and 'transforms'\(at(value))")
      }
      for (k, v) in m {
        let key = k.scalar?.string ?? "?"
        guard key == "base" || key == "transforms" else {
          throw DataError.badConfig(
            field: "\(field).\(key)", detail: "unknown key; a domain has only 'base' and 'transforms'\(at(v))")
        }
      }
      guard let baseNode = m["base"] else { throw DataError.badConfig(field: "\(field).base", detail: "is required") }
      var dataset: DiskDataset?
      if baseNode.mapping != nil {
        dataset = try parseDataset(baseNode, field: "\(field).base", configFile: file)
      }
      guard let base = dataset?.summary ?? baseNode.scalar?.string, !base.isEmpty else {
        throw DataError.badConfig(
          field: "\(field).base", detail: "must be a dataset or domain name, or {format: ..., path: ...}\(at(baseNode))"
        )
      }
      var steps = [TransformSpec]()
      if let list = m["transforms"], list.null == nil {
        guard let seq = list.sequence else {
          throw DataError.badConfig(field: "\(field).transforms", detail: "must be a list of steps\(at(list))")
        }
        for (i, item) in seq.enumerated() {
          steps.append(try parseStep(item, field: "\(field).transforms[\(i)]"))
        }
      }
      out[name] =
        dataset.map { DomainSpec(dataset: $0, transforms: steps) } ?? DomainSpec(base: base, transforms: steps)
    }
    return out
  }

  /// The `model.input` list of a config, if it has one (for commands that build domains without training).
  ///
  /// - Throws: ``DataError/badYAML(path:detail:)`` and ``DataError/badConfig(field:detail:)``
  ///   for `model.input` that is not a list of integers.
  public static func parseSampleShape(yaml: String, file: String) throws -> [Int]? {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch {
      throw DataError.badYAML(path: file, detail: "\(error)".split(separator: "\n").joined(separator: " "))
    }
    guard let node = root?.mapping?["model"]?.mapping?["input"] else { return nil }
    guard let seq = node.sequence, let dims = Optional(seq.compactMap { $0.scalar.flatMap { Int($0.string) } }),
      dims.count == seq.count
    else { throw DataError.badConfig(field: "model.input", detail: "must be a list of integers\(at(node))") }
    return dims
  }

  /// A `base:` mapping: a ``DiskDataset`` with its paths made absolute against the config's folder.
  static func parseDataset(_ node: Node, field: String, configFile: String) throws -> DiskDataset {
    guard let m = node.mapping else { preconditionFailure("parseDataset takes a mapping.") }
    guard let f = m["format"]?.scalar?.string, let format = DiskDataset.Format(rawValue: f) else {
      throw DataError.badConfig(
        field: "\(field).format",
        detail: "is required: \(DiskDataset.Format.allCases.map(\.rawValue).joined(separator: ", "))\(at(node))")
    }
    let allowed = DiskDataset.keys[format] ?? []
    var values = [String: String]()
    for (k, v) in m {
      let key = k.scalar?.string ?? "?"
      guard allowed.contains(key) else {
        throw DataError.badConfig(
          field: "\(field).\(key)",
          detail: "unknown key for format \(f); known: \(allowed.sorted().joined(separator: ", "))\(at(v))")
      }
      guard let s = v.scalar?.string, !s.isEmpty else {
        throw DataError.badConfig(field: "\(field).\(key)", detail: "must be a non-empty string\(at(v))")
      }
      values[key] = s
    }
    let dir = (configFile as NSString).deletingLastPathComponent
    func resolve(_ p: String?) -> String? {
      guard let p else { return nil }
      if p.hasPrefix("/") { return p }
      return URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: dir.isEmpty ? "." : dir, isDirectory: true))
        .standardizedFileURL.path
    }
    var d = DiskDataset(format: format, path: resolve(values["path"]))
    d.images = resolve(values["images"])
    d.labels = resolve(values["labels"])
    d.testImages = resolve(values["test_images"])
    d.testLabels = resolve(values["test_labels"])
    d.layout = values["layout"]
    for k in ["x_train", "y_train", "x_test", "y_test"] { if let v = values[k] { d.arrays[k] = v } }
    if format == .imagefolder {
      for k in ["train", "test"] { if let v = values[k] { d.splitFolders[k] = v } }
    }
    try d.validate(field: field)
    return d
  }

  /// One step: `NAME` or `{op: NAME, PARAM: NUMBER, ...}`.
  static func parseStep(_ node: Node, field: String) throws -> TransformSpec {
    if let s = node.scalar { return TransformSpec(op: s.string) }
    guard let m = node.mapping else {
      throw DataError.badConfig(field: field, detail: "a step is an op name or {op: NAME, PARAM: NUMBER}\(at(node))")
    }
    guard let op = m["op"]?.scalar?.string, !op.isEmpty else {
      throw DataError.badConfig(field: "\(field).op", detail: "is required and must be a transform name\(at(node))")
    }
    var params = [String: Double]()
    for (k, v) in m {
      guard let key = k.scalar?.string else {
        throw DataError.badConfig(field: field, detail: "parameter names must be strings\(at(k))")
      }
      if key == "op" { continue }
      guard let s = v.scalar, s.style == .plain, let x = Double(s.string), x.isFinite else {
        throw DataError.badConfig(field: "\(field).\(key)", detail: "must be a number\(at(v))")
      }
      params[key] = x
    }
    return TransformSpec(op: op, params: params)
  }

  /// " (line L)" for a node with a source mark.
  static func at(_ node: Node) -> String {
    node.mark.map { " (line \($0.line))" } ?? ""
  }
}
