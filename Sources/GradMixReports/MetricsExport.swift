import Foundation

#if canImport(Glibc)
  import Glibc
#endif

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

  /// The columns of metrics.csv and events.csv, gathered from the records seen.
  struct Columns {
    var scalars: Set<String> = []
    var sources: [String] = []
    var layers: [String] = []
    var eventKeys: [String] = []

    mutating func add(step fields: [String: Any]) {
      for c in MetricsExport.stepColumns where fields[c] != nil { scalars.insert(c) }
      for k in ((fields["losses"] as? [String: Any]) ?? [:]).keys.sorted() where !sources.contains(k) {
        sources.append(k)
      }
      for k in ((fields["weights"] as? [String: Any]) ?? [:]).keys.sorted() where !sources.contains(k) {
        sources.append(k)
      }
      for l in (fields["layers"] as? [String]) ?? [] where !layers.contains(l) { layers.append(l) }
    }

    mutating func add(event fields: [String: Any]) {
      for k in fields.keys.sorted() where k != "step" && k != "event" && !eventKeys.contains(k) { eventKeys.append(k) }
    }

    /// The scalar columns in ``MetricsExport/stepColumns`` order (`step` alone when none).
    var scalarColumns: [String] {
      let c = MetricsExport.stepColumns.filter(scalars.contains)
      return c.isEmpty ? ["step"] : c
    }

    var metricsHeader: String {
      var header = scalarColumns + sources.map { "loss:\($0)" }
      for s in sources { for l in layers { header.append("weight:\(s):\(l)") } }
      return header.map(MetricsExport.cell).joined(separator: ",")
    }

    var eventsHeader: String { (["step", "event"] + eventKeys).map(MetricsExport.cell).joined(separator: ",") }

    func metricsRow(_ fields: [String: Any]) -> String {
      var row = scalarColumns.map { MetricsExport.value(fields[$0]) }
      let losses = (fields["losses"] as? [String: Any]) ?? [:]
      row += sources.map { MetricsExport.value(losses[$0]) }
      let weights = (fields["weights"] as? [String: Any]) ?? [:]
      let recLayers = (fields["layers"] as? [String]) ?? layers
      for s in sources {
        let w = (weights[s] as? [Any]) ?? []
        for l in layers {
          let i = recLayers.firstIndex(of: l)
          row.append(i.flatMap { $0 < w.count ? MetricsExport.value(w[$0]) : nil } ?? "")
        }
      }
      return row.joined(separator: ",")
    }

    func eventsRow(_ fields: [String: Any]) -> String {
      (["step", "event"] + eventKeys).map { MetricsExport.value(fields[$0]) }.joined(separator: ",")
    }
  }

  /// The step records as CSV: the scalar columns, then `loss:<source>`, then `weight:<source>:<layer>`.
  public static func metricsCSV(_ run: RunFolder) -> String {
    var columns = Columns()
    for rec in run.steps { columns.add(step: rec.fields) }
    let lines = [columns.metricsHeader] + run.steps.map { columns.metricsRow($0.fields) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The event records as CSV: `step`, `event`, then every other field (lists and maps as JSON).
  public static func eventsCSV(_ run: RunFolder) -> String {
    var columns = Columns()
    for e in run.events { columns.add(event: e.fields) }
    let lines = [columns.eventsHeader] + run.events.map { columns.eventsRow($0.fields) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// What ``write(_:)`` wrote.
  public struct Written {
    public let paths: [String]
    public let steps: Int
    public let events: Int
  }

  /// Writes both files into the run folder, reading its metrics.jsonl twice line by line (the
  /// columns, then the rows) in bounded memory whatever its size (issue #28); progress lines on
  /// stderr for a large file. Each file is written to a temporary name and renamed when whole.
  /// - Throws: the write error (a full disk), with the file it concerns in ``WriteError``.
  public static func write(_ run: RunFolder) throws -> Written {
    let source = run.path + "/metrics.jsonl"
    var columns = Columns()
    // The columns depend only on a line's keys and strings, not on its numbers: a line whose
    // structure was seen adds nothing and is not parsed (most lines of a long run differ only in numbers).
    var structures = Set<Structure>()
    try MetricsStream.forEachLine(path: source, label: "\(source) (columns)") { line in
      let structure = Structure(line)
      if structures.contains(structure) { return }
      guard let obj = MetricsStream.object(line) else { return }
      if structures.count < 100_000 { structures.insert(structure) }
      if obj["event"] is String { columns.add(event: obj) } else if obj["step"] is NSNumber { columns.add(step: obj) }
    }
    let paths = [run.path + "/metrics.csv", run.path + "/events.csv"]
    let metrics = try CSVWriter(path: paths[0], header: columns.metricsHeader)
    defer { metrics.discard() }
    let events = try CSVWriter(path: paths[1], header: columns.eventsHeader)
    defer { events.discard() }
    var steps = 0, eventCount = 0
    try MetricsStream.forEachLine(path: source, label: "\(source) (rows)") { line in
      guard let obj = MetricsStream.object(line) else { return }
      if obj["event"] is String {
        try events.append(columns.eventsRow(obj))
        eventCount += 1
      } else if obj["step"] is NSNumber {
        try metrics.append(columns.metricsRow(obj))
        steps += 1
      }
    }
    try metrics.commit()
    try events.commit()
    return Written(paths: paths, steps: steps, events: eventCount)
  }

  /// A hash of a JSON line with the numbers outside strings left out: two lines with the same
  /// keys, strings and literals (`true`, `null`) get the same value. 128 bits from two independent
  /// FNV-1a style hashes, so lines of different structure collide with probability ~2^-128.
  struct Structure: Hashable {
    let a: UInt64
    let b: UInt64

    init(_ line: UnsafeRawBufferPointer) {
      var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
      var inString = false, escaped = false
      for byte in line {
        if inString {
          if escaped {
            escaped = false
          } else if byte == 0x5C {
            escaped = true
          } else if byte == 0x22 {
            inString = false
          }
        } else if byte == 0x22 {
          inString = true
        } else if (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x2D || byte == 0x2B || byte == 0x65
          || byte == 0x45
        {
          continue  // a number's characters (digits, '.', '-', '+', 'e', 'E')
        }
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        b = (b ^ UInt64(byte)) &* 0x9E37_79B9_7F4A_7C15
        b ^= b >> 29
      }
      self.a = a
      self.b = b
    }
  }

  /// A file that cannot be written, named.
  public struct WriteError: Error {
    public let path: String
    public let underlying: Error
  }

  /// Lines appended to `PATH.tmp` through a 1 MiB buffer, renamed to `PATH` by ``commit()``.
  final class CSVWriter {
    let path: String
    let temporary: String
    let handle: FileHandle
    var buffer = Data()
    var committed = false

    init(path: String, header: String) throws {
      self.path = path
      temporary = path + ".tmp"
      guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
        throw WriteError(path: path, underlying: NSError(domain: NSPOSIXErrorDomain, code: Int(errno)))
      }
      do { handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary)) } catch {
        throw WriteError(path: path, underlying: error)
      }
      try append(header)
    }

    func append(_ line: String) throws {
      buffer.append(contentsOf: line.utf8)
      buffer.append(0x0A)
      if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
      do { try handle.write(contentsOf: buffer) } catch { throw WriteError(path: path, underlying: error) }
      buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws {
      try flush()
      do {
        try handle.synchronize()
        try handle.close()
      } catch { throw WriteError(path: path, underlying: error) }
      guard rename(temporary, path) == 0 else {
        throw WriteError(path: path, underlying: NSError(domain: NSPOSIXErrorDomain, code: Int(errno)))
      }
      committed = true
    }

    /// Removes the temporary file unless committed.
    func discard() {
      guard !committed else { return }
      try? handle.close()
      try? FileManager.default.removeItem(atPath: temporary)
    }
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
