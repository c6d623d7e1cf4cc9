import Foundation

/// The options of a run, read back from its `run.json` for `--resume`.
public struct ResumeInfo {
  public let method: Method
  public let seed: UInt64
  public let dataSeed: UInt64
  public let steps: Int
  public let dataRoot: String
  public let targetGradient: TargetGradientMode
  public let mixing: MixingProtocol
  public let coordinatorOwnsSources: Bool

  /// Reads `directory/run.json`.
  /// - Throws: ``ConfigError`` naming the file and the missing or bad field.
  public static func read(directory: String) throws -> ResumeInfo {
    let path = directory + "/run.json"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ConfigError(file: path, field: "", "not found: --resume needs the output folder of a run")
    }
    guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw ConfigError(file: path, field: "", "not valid JSON")
    }
    func field<T>(_ key: String, _ parse: (Any) -> T?) throws -> T {
      guard let v = o[key], let t = parse(v) else { throw ConfigError(file: path, field: key, "missing or invalid") }
      return t
    }
    return ResumeInfo(
      method: try field("method") { ($0 as? String).flatMap(Method.init(rawValue:)) },
      seed: try field("seed") { ($0 as? String).flatMap { UInt64($0) } },
      dataSeed: try field("data_seed") { ($0 as? String).flatMap { UInt64($0) } },
      steps: try field("steps") { $0 as? Int },
      dataRoot: try field("data_root") { $0 as? String },
      targetGradient: try field("target_gradient") { ($0 as? String).flatMap(TargetGradientMode.init(rawValue:)) },
      mixing: try field("comm") { ($0 as? String).flatMap(MixingProtocol.init(rawValue:)) },
      coordinatorOwnsSources: try field("coordinator_owns_sources") { $0 as? Bool })
  }
}
