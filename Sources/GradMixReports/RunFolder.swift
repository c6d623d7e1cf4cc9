import Foundation
import Yams

/// A finished or unfinished run folder as written by `gradmix train`, read
/// defensively: every file may be missing, partial (an interrupted run's last
/// line) or from an older version, and what cannot be read is left out.
public struct RunFolder {
  /// One line of metrics.jsonl: a step record or an event (`"event": ...`).
  public struct Record {
    public let fields: [String: Any]
    public var step: Int? { (fields["step"] as? NSNumber)?.intValue }
    public var event: String? { fields["event"] as? String }
    public func number(_ key: String) -> Double? {
      RunFolder.number(fields[key] ?? RunFolder.formerNames[key].flatMap { fields[$0] })
    }
  }

  /// Keys renamed since older runs were written: a key read from a file that
  /// lacks it falls back to its former name (issue #27: the evaluated split's
  /// accuracy and loss were `target_test_*` even under `--eval-split validation`).
  public static let formerNames = ["target_accuracy": "target_test_accuracy", "target_loss": "target_test_loss"]

  public let path: String
  public let run: [String: Any]
  public let summary: [String: Any]
  /// Step records (no `event` field), in file order.
  public let steps: [Record]
  /// Event records (pseudo-labelling, ...), in file order.
  public let events: [Record]
  /// The resolved config (config.resolved.yaml, else config.yaml), if readable.
  public let config: Node?

  /// The folder's name, used to label the run.
  public var name: String { URL(fileURLWithPath: path).lastPathComponent }
  public var finished: Bool { !summary.isEmpty }
  public var method: String? { string(for: "method") }
  public var seed: String? { string(for: "seed") }

  /// Step lines in metrics.jsonl, kept in ``steps`` or not (``steps``'s count unless thinned).
  public let stepLines: Int
  /// Whether ``steps`` or ``events`` hold an evenly thinned subset (see ``MetricsSample``).
  public let metricsThinned: Bool

  /// Reads `path`; throws only when it is not a folder holding a run.
  /// - Parameters:
  ///   - readMetrics: read metrics.jsonl (``steps``, ``events``); `gradmix table` needs only
  ///     summary.json, and a metrics file of 1 GB took 45 s and 2.6 GB (issue #28).
  ///   - metricsLimit: keep at most about twice this many evenly spaced step records and events
  ///     (``MetricsSample``); nil keeps all. The file is read line by line either way.
  /// - Throws: ``RunFolderError`` naming the folder.
  public init(path: String, readMetrics: Bool = true, metricsLimit: Int? = nil) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
      throw RunFolderError(path: path, detail: "not a folder")
    }
    self.path = path
    run = RunFolder.readJSON(path + "/run.json")
    summary = RunFolder.readJSON(path + "/summary.json")
    var steps: [Record] = [], events: [Record] = []
    var stepLines = 0, thinned = false
    if readMetrics, let limit = metricsLimit {
      let sample = try MetricsSample(path: path + "/metrics.jsonl", limit: limit)
      (steps, events, stepLines, thinned) = (sample.steps, sample.events, sample.stepLines, sample.thinned)
    } else if readMetrics {
      try MetricsStream.forEachLine(path: path + "/metrics.jsonl") { line in
        guard let obj = MetricsStream.object(line) else { return }
        let r = Record(fields: obj)
        if r.event != nil { events.append(r) } else if r.step != nil { steps.append(r) }
      }
      stepLines = steps.count
    }
    self.stepLines = stepLines
    metricsThinned = thinned
    self.steps = steps
    self.events = events
    let text =
      (try? String(contentsOfFile: path + "/config.resolved.yaml", encoding: .utf8))
      ?? (try? String(contentsOfFile: path + "/config.yaml", encoding: .utf8))
    config = text.flatMap { try? Yams.compose(yaml: $0) }
    let unreadMetrics = !readMetrics && FileManager.default.fileExists(atPath: path + "/metrics.jsonl")
    guard !run.isEmpty || !summary.isEmpty || !steps.isEmpty || unreadMetrics else {
      throw RunFolderError(path: path, detail: "holds no run (no run.json, summary.json or metrics.jsonl)")
    }
  }

  /// A value by key: summary.json, then run.json, then the config by dotted path
  /// (`optimizer.lr`, `sources[1].limit`).
  public func value(for key: String) -> Any? {
    if let old = RunFolder.formerNames[key], summary[key] == nil, let v = summary[old] { return v }
    if let v = summary[key] { return v }
    if let v = run[key] { return v }
    if let v = (run["provenance"] as? [String: Any])?[key] ?? (summary["provenance"] as? [String: Any])?[key] {
      return v
    }
    var node = config
    for part in key.split(separator: ".") {
      var name = Substring(part)
      var indices: [Int] = []
      while let open = name.lastIndex(of: "["), name.last == "]",
        let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)])
      {
        indices.insert(i, at: 0)
        name = name[..<open]
      }
      node = node?[String(name)]
      for i in indices { node = node?.sequence.flatMap { i < $0.count ? $0[i] : nil } }
    }
    return node?.scalar?.string
  }

  /// ``value(for:)`` as text (numbers without a trailing `.0` when whole; a
  /// config number in any spelling, `9e-1` or `0.9`, as the same text, so
  /// run folders written before and after config.resolved.yaml's number
  /// format changed group together).
  public func string(for key: String) -> String? {
    guard var v = value(for: key) else { return nil }
    if let s = v as? String, s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(s), d.isFinite {
      v = NSNumber(value: d)
    }
    if let n = v as? NSNumber {
      if RunFolder.isBool(n) { return n.boolValue ? "true" : "false" }
      let d = n.doubleValue
      return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
    return "\(v)"
  }

  /// ``value(for:)`` as a number.
  public func number(for key: String) -> Double? { RunFolder.number(value(for: key)) }

  /// Whether a JSON number is a boolean (Foundation reads `true` as an
  /// NSNumber that also casts to Int, and `1` as one that casts to Bool).
  static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

  public static func number(_ v: Any?) -> Double? {
    switch v {
    case let n as NSNumber: return n.doubleValue
    case let s as String: return Double(s)
    default: return nil
    }
  }

  static func readJSON(_ path: String) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return obj
  }
}

/// A path given as a run that is not one.
public struct RunFolderError: Error, CustomStringConvertible {
  public let path: String
  public let detail: String
  public var description: String { "\(path): \(detail)" }
}
