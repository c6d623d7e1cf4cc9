import Foundation
import GradMixRecords
import Yams

/// A finished or unfinished run folder as written by `gradmix train`, read
/// defensively: every file may be missing, partial (an interrupted run's last
/// line) or from an older version, and what cannot be read is left out.
///
/// Records written before issue #27 read through their types' decoders
/// (`target_test_accuracy` reads as ``RunSummary/targetAccuracy``).
public struct RunFolder {
  public let path: String
  /// run.json; nil when missing, empty or unreadable.
  public let run: RunInfo?
  /// summary.json; nil when missing, empty or unreadable (an unfinished run).
  public let summary: RunSummary?
  /// run.json's and summary.json's fields by JSON key, for a key given at run time (``value(for:)``).
  public let runFields: [String: JSONValue]
  public let summaryFields: [String: JSONValue]
  /// Step records, in file order.
  public let steps: [MetricsRecord]
  /// Event records (pseudo-labelling, ...), in file order.
  public let events: [MetricsEvent]
  /// The resolved config (config.resolved.yaml, else config.yaml), if readable.
  public let config: Node?

  /// The folder's name, used to label the run.
  public var name: String { URL(fileURLWithPath: path).lastPathComponent }
  public var finished: Bool { summary != nil }
  /// The method under today's names (``MethodNames``), as every lookup of `method` gives it.
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
    let run = RecordCoding.read(RunInfo.self, path: path + "/run.json").flatMap { $0 == RunInfo() ? nil : $0 }
    let summary = RecordCoding.read(RunSummary.self, path: path + "/summary.json").flatMap {
      $0 == RunSummary() ? nil : $0
    }
    (self.run, self.summary) = (run, summary)
    var runFields = run.map(RecordCoding.fields(of:)) ?? [:]
    var summaryFields = summary.map(RecordCoding.fields(of:)) ?? [:]
    // An old run's method under today's names (``MethodNames``: its `gradmix` is today's `gated-pcgrad`).
    if let m = run?.settings.currentMethod, m != run?.settings.method {
      runFields["method"] = .string(m)
      if summaryFields["method"] != nil { summaryFields["method"] = .string(m) }
    }
    (self.runFields, self.summaryFields) = (runFields, summaryFields)
    var steps: [MetricsRecord] = [], events: [MetricsEvent] = []
    var stepLines = 0, thinned = false
    if readMetrics, let limit = metricsLimit {
      let sample = try MetricsSample(path: path + "/metrics.jsonl", limit: limit)
      (steps, events, stepLines, thinned) = (sample.steps, sample.events, sample.stepLines, sample.thinned)
    } else if readMetrics {
      try MetricsStream.forEachLine(path: path + "/metrics.jsonl") { line in
        switch MetricsStream.record(line) {
        case .step(let r)?: steps.append(r)
        case .event(let e)?: events.append(e)
        case nil: break
        }
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
    guard run != nil || summary != nil || !steps.isEmpty || unreadMetrics else {
      throw RunFolderError(path: path, detail: "holds no run (no run.json, summary.json or metrics.jsonl)")
    }
  }

  /// A value by key: summary.json, then run.json, then the config by dotted path
  /// (`optimizer.lr`, `sources[1].limit`).
  public func value(for key: String) -> JSONValue? {
    if let v = summaryFields[key] ?? runFields[key] { return v }
    if case .object(let p)? = summaryFields["provenance"], let v = p[key] { return v }
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
    return node?.scalar.map { .string($0.string) }
  }

  /// ``value(for:)`` as text (numbers without a trailing `.0` when whole; a
  /// config number in any spelling, `9e-1` or `0.9`, as the same text, so
  /// run folders written before and after config.resolved.yaml's number
  /// format changed group together).
  public func string(for key: String) -> String? {
    guard let v = value(for: key) else { return nil }
    if case .string(let s) = v, s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(s),
      d.isFinite
    {
      return JSONValue.number(d).text
    }
    if case .null = v { return "null" }
    return v.text
  }

  /// ``value(for:)`` as a number.
  public func number(for key: String) -> Double? { value(for: key)?.number }
}

/// A path given as a run that is not one.
public struct RunFolderError: Error, CustomStringConvertible {
  public let path: String
  public let detail: String
  public var description: String { "\(path): \(detail)" }
}
