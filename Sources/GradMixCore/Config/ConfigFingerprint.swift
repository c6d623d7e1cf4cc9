import Foundation

/// The values of a resolved config (and the options) that change a run's arithmetic, with a hash.
///
/// Recorded in run.json when a run starts; `--resume` recomputes it from
/// the run's config.yaml and refuses a changed one, naming the changed keys
/// in config spelling (`optimizer.lr`, `sources[1].label_map`), so an edited
/// config never continues silently with a different result (issue #12,
/// items 9 and 10). Keys are flattened from the decoded config (defaults the
/// file leaves out are absent on both sides), so reformatting or comments
/// do not count as changes. Choice: the keys that only decide what is
/// logged or kept (`data_root`, `eval_every`, `log_every`,
/// `checkpoint_every`, `keep_checkpoints`) may change; everything else may not.
public struct ConfigFingerprint: Equatable, Sendable {
  /// Flattened `key path -> JSON value` of everything that changes the arithmetic.
  public let values: [String: String]

  /// Keys that may change between a run and its resume.
  static let free: Set<String> = ["data_root", "eval_every", "log_every", "checkpoint_every", "keep_checkpoints"]

  public init(values: [String: String]) { self.values = values }

  /// The fingerprint of `config` plus `options` (e.g. `["--threads": "1"]`).
  public init(config: TrainConfig, options: [String: String] = [:]) {
    var values = options
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    if let data = try? encoder.encode(config), let object = try? JSONSerialization.jsonObject(with: data) {
      ConfigFingerprint.flatten(object, path: "", into: &values)
    }
    if !config.domains.isEmpty, let data = try? encoder.encode(config.domains),
      let object = try? JSONSerialization.jsonObject(with: data)
    {
      ConfigFingerprint.flatten(object, path: "domains", into: &values)
    }
    self.values = values.filter {
      !ConfigFingerprint.free.contains($0.key.split(separator: ".").first.map(String.init) ?? "")
    }
  }

  /// FNV-1a (64-bit) of the sorted `key=value` lines, in hex.
  public var hash: String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for line in values.keys.sorted().map({ "\($0)=\(values[$0] ?? "")\n" }) {
      for b in line.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    }
    return String(h, radix: 16)
  }

  /// The keys whose values differ (added, removed or changed), sorted.
  public func changedKeys(from recorded: ConfigFingerprint) -> [String] {
    Set(values.keys).union(recorded.values.keys).filter { values[$0] != recorded.values[$0] }.sorted()
  }

  static func flatten(_ value: Any, path: String, into out: inout [String: String]) {
    switch value {
    case let m as [String: Any]:
      for (k, v) in m { flatten(v, path: path.isEmpty ? k : "\(path).\(k)", into: &out) }
    case let a as [Any] where a.contains(where: { $0 is [String: Any] }):
      for (i, v) in a.enumerated() { flatten(v, path: "\(path)[\(i)]", into: &out) }
    default:
      let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys])
      let text = data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
      out[path] = String(text.dropFirst().dropLast())
    }
  }
}
