import Foundation
import GradMixEngine

extension TrainConfig {
  // MARK: - Transfer from a pretrained network (model.init, init_skip, freeze; optimizer.layer_lr)

  /// `model.init` as a path: absolute as written, relative against the
  /// folder of the config file `configFile` (as `domains:` paths resolve).
  public func initPath(configFile: String) -> String? {
    guard let p = model.initPath else { return nil }
    if p.hasPrefix("/") { return p }
    let dir = (configFile as NSString).deletingLastPathComponent
    return URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: dir.isEmpty ? "." : dir, isDirectory: true))
      .standardizedFileURL.path
  }

  /// The layers `model.init_skip` leaves at their random initialisation (indices into `layout.layerNames`).
  /// - Throws: ``ConfigError`` for a name or glob that matches no layer.
  public func initSkipLayers(_ model: Sequential, file: String) throws -> Set<Int> {
    try Self.layers(matching: self.model.initSkip ?? [], field: "model.init_skip", in: model, file: file)
  }

  /// The layers `model.freeze` freezes.
  /// - Throws: ``ConfigError`` for a name or glob that matches no layer, or when every layer would be frozen.
  public func frozenLayers(_ model: Sequential, file: String) throws -> Set<Int> {
    let frozen = try Self.layers(matching: self.model.freeze ?? [], field: "model.freeze", in: model, file: file)
    if frozen.count == model.layout.layerCount {
      throw ConfigError(
        file: file, field: "model.freeze",
        "freezes every layer (\(model.layout.layerNames.joined(separator: ", "))); nothing would train")
    }
    return frozen
  }

  /// The learning-rate multiplier of every layer (`optimizer.layer_lr`; 1 where none is given).
  /// - Throws: ``ConfigError`` for an unknown layer, a layer named twice, or a multiplier that is
  ///   negative or not finite.
  public func layerLearningRates(_ model: Sequential, file: String) throws -> [Float] {
    var multipliers = [Float](repeating: 1, count: model.layout.layerCount)
    var setBy: [Int: String] = [:]
    for (pattern, m) in (optimizer.layerLR ?? [:]).sorted(by: { $0.key < $1.key }) {
      let field = "optimizer.layer_lr.\(pattern)"
      guard m >= 0 && m.isFinite else { throw ConfigError(file: file, field: field, "must be ≥ 0, got \(m)") }
      for l in try Self.layers(matching: [pattern], field: "optimizer.layer_lr", in: model, file: file) {
        if let other = setBy[l] {
          throw ConfigError(
            file: file, field: field, "layer \(model.layout.layerNames[l]) is already given a multiplier by '\(other)'")
        }
        setBy[l] = pattern
        multipliers[l] = m
      }
    }
    return multipliers
  }

  /// Checks the transfer keys against the model (called by ``validate(file:)``).
  func validateTransfer(_ model: Sequential, file: String) throws {
    if let p = self.model.initPath, p.isEmpty { throw ConfigError(file: file, field: "model.init", "is empty") }
    if self.model.initSkip?.isEmpty == false && self.model.initPath == nil {
      throw ConfigError(file: file, field: "model.init_skip", "needs model.init (the weights file to skip layers of)")
    }
    _ = try initSkipLayers(model, file: file)
    _ = try frozenLayers(model, file: file)
    _ = try layerLearningRates(model, file: file)
  }

  /// The layer indices the names or globs (`*`, `?`) match; each must match at least one layer.
  static func layers(matching patterns: [String], field: String, in model: Sequential, file: String) throws -> Set<Int>
  {
    let names = model.layout.layerNames
    var result = Set<Int>()
    for pattern in patterns {
      let hits = names.indices.filter { globMatches(pattern, names[$0]) }
      guard !hits.isEmpty else {
        throw ConfigError(
          file: file, field: field, "unknown layer '\(pattern)' (layers: \(names.joined(separator: ", ")))")
      }
      result.formUnion(hits)
    }
    return result
  }

  /// Shell-style matching of a whole name: `*` any run of characters, `?` one character.
  static func globMatches(_ pattern: String, _ name: String) -> Bool {
    let p = Array(pattern), s = Array(name)
    var pi = 0, si = 0, star = -1, mark = 0
    while si < s.count {
      if pi < p.count && (p[pi] == "?" || p[pi] == s[si]) {
        pi += 1; si += 1
      } else if pi < p.count && p[pi] == "*" {
        star = pi; mark = si; pi += 1
      } else if star >= 0 {
        pi = star + 1; mark += 1; si = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}
