import Foundation
import GradMixRecords

#if canImport(Glibc)
  import Glibc
#endif

/// metrics.jsonl as two CSV files for spreadsheets and pandas: `metrics.csv`
/// (one row per step record; each source's loss and each source's weight per
/// layer in its own column) and `events.csv` (one row per event, such as a
/// pseudo-labelling round).
public enum MetricsExport {
  /// Scalar fields of a step record, in this column order when present. A run written before
  /// issue #27 has its `target_test_*` values in `target_accuracy` and `target_loss` (the decoder's fallback).
  static let stepColumns: [(name: String, value: @Sendable (MetricsRecord) -> String?)] = [
    ("step", { $0.step.map(String.init) }), ("lr", { $0.lr.map(number) }), ("lr_scale", { $0.lrScale.map(number) }),
    ("target_meta_loss", { $0.targetMetaLoss.map(number) }), ("target_accuracy", { $0.targetAccuracy.map(number) }),
    ("target_loss", { $0.targetLoss.map(number) }), ("eval_split", { $0.evalSplit.map(cell) }),
    ("pseudo_count", { $0.pseudoCount.map(String.init) }),
    ("pseudo_accuracy_diagnostic", { $0.pseudoAccuracyDiagnostic.map(number) }),
    ("skipped", { $0.skipped.map { $0 ? "true" : "false" } }),
  ]

  /// The fields of an event after `step` and `event`, in this (sorted) column order when present.
  static let eventColumns: [(name: String, value: @Sendable (MetricsEvent) -> String?)] = [
    ("accuracy_diagnostic", { $0.accuracyDiagnostic.map(number) }), ("count", { $0.count.map(String.init) }),
    ("per_class", { $0.perClass.map { cell("[" + $0.map(String.init).joined(separator: ",") + "]") } }),
    ("pool", { $0.pool.map(String.init) }),
  ]

  /// The columns of metrics.csv and events.csv, gathered from the records seen.
  struct Columns {
    var scalars: Set<String> = []
    var sources: [String] = []
    var layers: [String] = []
    var eventKeys: [String] = []

    mutating func add(step record: MetricsRecord) {
      for c in MetricsExport.stepColumns where c.value(record) != nil { scalars.insert(c.name) }
      for k in (record.losses ?? [:]).keys.sorted() where !sources.contains(k) { sources.append(k) }
      for k in (record.weights ?? [:]).keys.sorted() where !sources.contains(k) { sources.append(k) }
      for l in record.layers ?? [] where !layers.contains(l) { layers.append(l) }
    }

    mutating func add(event: MetricsEvent) {
      for c in MetricsExport.eventColumns where c.value(event) != nil && !eventKeys.contains(c.name) {
        eventKeys.append(c.name)
      }
    }

    /// The scalar columns in ``MetricsExport/stepColumns`` order (`step` alone when none).
    var scalarColumns: [(name: String, value: @Sendable (MetricsRecord) -> String?)] {
      let c = MetricsExport.stepColumns.filter { scalars.contains($0.name) }
      return c.isEmpty ? [MetricsExport.stepColumns[0]] : c
    }

    var metricsHeader: String {
      var header = scalarColumns.map(\.name) + sources.map { "loss:\($0)" }
      for s in sources { for l in layers { header.append("weight:\(s):\(l)") } }
      return header.map(MetricsExport.cell).joined(separator: ",")
    }

    var eventsHeader: String { (["step", "event"] + eventKeys).map(MetricsExport.cell).joined(separator: ",") }

    func metricsRow(_ record: MetricsRecord) -> String {
      var row = scalarColumns.map { $0.value(record) ?? "" }
      let losses = record.losses ?? [:]
      row += sources.map { s in losses[s].map(MetricsExport.number) ?? "" }
      let weights = record.weights ?? [:]
      let recLayers = record.layers ?? layers
      for s in sources {
        let w = weights[s] ?? []
        for l in layers {
          let i = recLayers.firstIndex(of: l)
          row.append(i.flatMap { $0 < w.count ? MetricsExport.number(w[$0]) : nil } ?? "")
        }
      }
      return row.joined(separator: ",")
    }

    func eventsRow(_ event: MetricsEvent) -> String {
      let cells = [event.step.map(String.init) ?? "", event.event.map(MetricsExport.cell) ?? ""]
      return
        (cells
        + eventKeys.map { k in MetricsExport.eventColumns.first { $0.name == k }?.value(event) ?? "" })
        .joined(separator: ",")
    }
  }

  /// The step records as CSV: the scalar columns, then `loss:<source>`, then `weight:<source>:<layer>`.
  public static func metricsCSV(_ run: RunFolder) -> String {
    var columns = Columns()
    for rec in run.steps { columns.add(step: rec) }
    let lines = [columns.metricsHeader] + run.steps.map { columns.metricsRow($0) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The event records as CSV: `step`, `event`, then every other field (lists and maps as JSON).
  public static func eventsCSV(_ run: RunFolder) -> String {
    var columns = Columns()
    for e in run.events { columns.add(event: e) }
    let lines = [columns.eventsHeader] + run.events.map { columns.eventsRow($0) }
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
      guard let record = MetricsStream.record(line) else { return }
      if structures.count < 100_000 { structures.insert(structure) }
      switch record {
      case .step(let r): columns.add(step: r)
      case .event(let e): columns.add(event: e)
      }
    }
    let paths = [run.path + "/metrics.csv", run.path + "/events.csv"]
    let metrics = try CSVWriter(path: paths[0], header: columns.metricsHeader)
    defer { metrics.discard() }
    let events = try CSVWriter(path: paths[1], header: columns.eventsHeader)
    defer { events.discard() }
    var steps = 0, eventCount = 0
    try MetricsStream.forEachLine(path: source, label: "\(source) (rows)") { line in
      switch MetricsStream.record(line) {
      case .event(let e)?:
        try events.append(columns.eventsRow(e))
        eventCount += 1
      case .step(let r)?:
        try metrics.append(columns.metricsRow(r))
        steps += 1
      case nil: break
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

  /// A number's cell: empty when non-finite (null in the record).
  static func number(_ d: Double) -> String { d.isFinite ? String(d) : "" }

  static func cell(_ s: String) -> String {
    s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }
}
