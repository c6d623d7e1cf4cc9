import Foundation

/// metrics.jsonl as two CSV files for spreadsheets and pandas: `metrics.csv`
/// (one row per step record; each source's loss and each source's weight per
/// layer in its own column) and `events.csv` (one row per event, such as a
/// pseudo-labelling round).
public enum MetricsExport {
  /// Scalar fields of a step record, in this column order when present.
  static let stepColumns = [
    "step", "lr", "lr_scale", "target_meta_loss", "target_accuracy", "target_loss", "eval_split",
    "target_test_accuracy", "target_test_loss",  // before issue #27
    "pseudo_count", "pseudo_accuracy_diagnostic", "skipped",
  ]

  /// The step records as CSV: the scalar columns, then `loss:<source>`, then `weight:<source>:<layer>`.
  public static func metricsCSV(_ run: RunFolder) -> String {
    var sources: [String] = [], layers: [String] = []
    var scalars = stepColumns.filter { c in run.steps.contains { $0.fields[c] != nil } }
    for rec in run.steps {
      for k in ((rec.fields["losses"] as? [String: Any]) ?? [:]).keys.sorted() where !sources.contains(k) {
        sources.append(k)
      }
      for k in ((rec.fields["weights"] as? [String: Any]) ?? [:]).keys.sorted() where !sources.contains(k) {
        sources.append(k)
      }
      for l in (rec.fields["layers"] as? [String]) ?? [] where !layers.contains(l) { layers.append(l) }
    }
    if scalars.isEmpty { scalars = ["step"] }
    var header = scalars + sources.map { "loss:\($0)" }
    for s in sources { for l in layers { header.append("weight:\(s):\(l)") } }
    var lines = [header.map(cell).joined(separator: ",")]
    for rec in run.steps {
      var row = scalars.map { value(rec.fields[$0]) }
      let losses = (rec.fields["losses"] as? [String: Any]) ?? [:]
      row += sources.map { value(losses[$0]) }
      let weights = (rec.fields["weights"] as? [String: Any]) ?? [:]
      let recLayers = (rec.fields["layers"] as? [String]) ?? layers
      for s in sources {
        let w = (weights[s] as? [Any]) ?? []
        for l in layers {
          let i = recLayers.firstIndex(of: l)
          row.append(i.flatMap { $0 < w.count ? value(w[$0]) : nil } ?? "")
        }
      }
      lines.append(row.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The event records as CSV: `step`, `event`, then every other field (lists and maps as JSON).
  public static func eventsCSV(_ run: RunFolder) -> String {
    var keys: [String] = []
    for e in run.events {
      for k in e.fields.keys.sorted() where k != "step" && k != "event" && !keys.contains(k) { keys.append(k) }
    }
    var lines = [(["step", "event"] + keys).map(cell).joined(separator: ",")]
    for e in run.events { lines.append((["step", "event"] + keys).map { value(e.fields[$0]) }.joined(separator: ",")) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Writes both files into the run folder; returns their paths.
  public static func write(_ run: RunFolder) throws -> [String] {
    let paths = [run.path + "/metrics.csv", run.path + "/events.csv"]
    try Data(metricsCSV(run).utf8).write(to: URL(fileURLWithPath: paths[0]), options: .atomic)
    try Data(eventsCSV(run).utf8).write(to: URL(fileURLWithPath: paths[1]), options: .atomic)
    return paths
  }

  static func value(_ v: Any?) -> String {
    switch v {
    case nil, is NSNull: return ""
    case let n as NSNumber: return RunFolder.isBool(n) ? (n.boolValue ? "true" : "false") : "\(n)"
    case let s as String: return cell(s)
    case let other?:
      guard JSONSerialization.isValidJSONObject(other),
        let d = try? JSONSerialization.data(withJSONObject: other, options: [.sortedKeys])
      else { return cell("\(other)") }
      return cell(String(decoding: d, as: UTF8.self))
    }
  }

  static func cell(_ s: String) -> String {
    s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }
}
