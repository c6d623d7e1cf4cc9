import Foundation
import GradMixRecords

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
  /// The engine threads the run used (nil in runs recorded before it was kept).
  public var threads: Int? = nil
  /// `--eval-split` (nil in runs recorded before it was kept).
  public var evalSplit: EvalSplit? = nil
  /// `--step-timeout` seconds (nil: none, or a run recorded before it was kept).
  public var stepTimeout: Double? = nil
  /// The config's fingerprint when the run started (nil in older runs).
  public var fingerprint: ConfigFingerprint? = nil
  /// The run's `key=value` overrides (already in its config.yaml): the keys
  /// `--steps` did not scale, so a resume does not scale them either.
  public var overrides: [String] = []
  /// The SHA-256 of every data file the run read (``Provenance/dataFiles``, nil in older runs).
  public var dataFiles: [String: String]? = nil
  /// A one-line note when run.json names the method by a name it had
  /// before 2026-12-05 that now means another method (nil: none).
  public var renamedNote: String? = nil

  /// The method `recorded` names in a run.json whose `method_names` is
  /// `names`, and a note if it was renamed since.
  ///
  /// Choice: a run.json without `method_names` was written before the names
  /// of 2026-12-05, so its `gradmix` is the gated PCGrad rule: it resumes as
  /// `gated-pcgrad` (and its `gradmix-paper` as `gradmix`, its
  /// `gradmix-no-pl` as `gated-pcgrad-no-pl`, ``Method/formerNames``) with a
  /// one-line note, rather than continuing with the rule the name has now or
  /// being refused: the rule, its settings and its checkpoint state
  /// (``GatedPCGradWeighting/state``) are the same under the new name, so
  /// the resumed run computes what it would have before the rename.
  /// - Returns: nil for a name that is no method then or now.
  public static func method(recorded: String, names: String?) -> (method: Method, note: String?)? {
    if names == nil, let now = Method.formerNames[recorded] {
      return (
        now,
        "run.json records method '\(recorded)' under the names before \(Method.namesDate); resuming it as '\(now.rawValue)', the same rule"
      )
    }
    return Method(rawValue: recorded).map { ($0, nil) }
  }

  /// Throws a ``ConfigError`` naming the changed keys if `config` differs from the one the run started with.
  public func checkUnchanged(_ config: TrainConfig, file: String) throws {
    guard let recorded = fingerprint else { return }
    let changed = ConfigFingerprint(config: config).changedKeys(from: recorded)
    guard changed.isEmpty else {
      throw ConfigError(
        file: file, field: changed.prefix(5).joined(separator: ", ") + (changed.count > 5 ? ", ..." : ""),
        "changed since the run started (run.json records the original); restore it, or start a new run")
    }
  }

  /// Throws a ``ConfigError`` naming the first data file that differs from
  /// the run's start (other bytes, missing, or new), so a resume on other
  /// data (another `--data-root`, an edited `data_root`, a replaced file) is
  /// refused (issue #28). Paths are compared relative to each data root.
  /// - Parameters:
  ///   - current: ``Provenance/dataFiles`` captured now under `root`.
  public func checkData(_ current: [String: String], root: String, directory: String) throws {
    guard let recorded = dataFiles else { return }
    func relative(_ files: [String: String], _ root: String) -> [String: String] {
      let prefix = root.hasSuffix("/") ? root : root + "/"
      return Dictionary(
        files.map { ($0.key.hasPrefix(prefix) ? String($0.key.dropFirst(prefix.count)) : $0.key, $0.value) },
        uniquingKeysWith: { a, _ in a })
    }
    let before = relative(recorded, dataRoot), now = relative(current, root)
    let prefix = root.hasSuffix("/") ? root : root + "/"
    let full = { (k: String) in k.hasPrefix("/") ? k : prefix + k }
    let hint =
      "the run started on other data (\(directory)/run.json data_files, data root '\(dataRoot)'); resume with the same data, or start a new run"
    for key in Set(before.keys).union(now.keys).sorted() {
      switch (before[key], now[key]) {
      case (let a?, let b?) where a != b:
        throw ConfigError(file: full(key), field: "", "its bytes differ: " + hint)
      case (_?, nil):
        throw ConfigError(file: full(key), field: "", "missing or not a regular file: " + hint)
      case (nil, _?):
        throw ConfigError(file: full(key), field: "", "not read by the run when it started: " + hint)
      default: continue
      }
    }
  }

  /// Reads `directory/run.json`.
  /// - Throws: ``ConfigError`` naming the file and the missing or bad field.
  public static func read(directory: String) throws -> ResumeInfo {
    let path = directory + "/run.json"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ConfigError(file: path, field: "", "not found: --resume needs the output folder of a run")
    }
    let o: RunInfo
    do { o = try JSONDecoder().decode(RunInfo.self, from: data) } catch DecodingError.typeMismatch(_, let c) {
      throw ConfigError(file: path, field: c.codingPath.first?.stringValue ?? "", "missing or invalid")
    } catch {
      throw ConfigError(file: path, field: "", "not valid JSON")
    }
    func field<T>(_ key: String, _ value: T?) throws -> T {
      guard let value else { throw ConfigError(file: path, field: key, "missing or invalid") }
      return value
    }
    let recorded = try field("method", o.method)
    guard let method = Self.method(recorded: recorded, names: o.methodNames) else {
      throw ConfigError(file: path, field: "method", Method.unknownMessage(recorded))
    }
    var info = ResumeInfo(
      method: method.method,
      seed: try field("seed", o.seed.flatMap { UInt64($0) }),
      dataSeed: try field("data_seed", o.dataSeed.flatMap { UInt64($0) }),
      steps: try field("steps", o.steps),
      dataRoot: try field("data_root", o.dataRoot),
      targetGradient: try field("target_gradient", o.targetGradient.flatMap(TargetGradientMode.init(rawValue:))),
      mixing: try field("comm", o.comm.flatMap(MixingProtocol.init(rawValue:))),
      coordinatorOwnsSources: try field("coordinator_owns_sources", o.coordinatorOwnsSources))
    info.threads = o.provenance.threads
    info.evalSplit = o.evalSplit.flatMap(EvalSplit.init(rawValue:))
    info.stepTimeout = o.stepTimeout
    info.fingerprint = o.configValues.map(ConfigFingerprint.init(values:))
    info.overrides = o.overrides ?? []
    info.dataFiles = o.provenance.dataFiles
    info.renamedNote = method.note
    return info
  }
}
