import Foundation
import GradMixRecords

#if canImport(Glibc)
  import Glibc
#endif

/// metrics.jsonl read line by line with bounded memory: a 1 MiB read buffer
/// and one line at a time, whatever the file's size. A run's metrics file
/// grows with its steps (about 2.5 KiB a step at `log_every: 1`); read
/// whole, a 1 GB file took 45 s and 2.6 GB with no word (issue #28).
///
/// For files of at least ``progressBytes`` a line on stderr says how far
/// the read is, every ``progressSeconds``.
public enum MetricsStream {
  /// The longest line kept; a longer one (no step record is near it) is skipped whole.
  public static let maxLineBytes = 16 << 20
  /// Files this large get progress lines on stderr.
  public static let progressBytes = 64 << 20
  /// Seconds between progress lines.
  public static let progressSeconds = 10.0

  /// Calls `body` with each line of `path` (without its newline; a last
  /// line without one too), in file order. Returns false when there is no
  /// regular file at `path` (a missing file, a folder or a FIFO is never
  /// opened for reading: a FIFO would block).
  /// - Parameter label: names the read in progress lines (e.g. `report: RUN/metrics.jsonl`).
  @discardableResult
  public static func forEachLine(
    path: String, label: String? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> Bool {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
    let total = Int(st.st_size)
    var progress = Progress(label: label ?? path, total: total)
    let chunk = 1 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var pending: [UInt8] = []
    var skipping = false
    var done = 0
    while true {
      let n = read(fd, buffer.baseAddress, chunk)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { break }
      done += n
      var start = 0
      let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
      let base = buffer.baseAddress!
      while start < n {
        // memchr, not firstIndex(of:): the generic search is ~100x slower in a debug build.
        guard let hit = memchr(base + start, 0x0A, n - start) else {
          if !skipping {
            pending.append(contentsOf: bytes[start..<n])
            if pending.count > maxLineBytes { pending = []; skipping = true }
          }
          break
        }
        let nl = base.distance(to: UnsafeMutableRawPointer(hit))
        if skipping {
          skipping = false
        } else if pending.isEmpty {
          try body(UnsafeRawBufferPointer(rebasing: bytes[start..<nl]))
        } else {
          pending.append(contentsOf: bytes[start..<nl])
          if pending.count <= maxLineBytes { try pending.withUnsafeBytes { try body($0) } }
          pending.removeAll(keepingCapacity: pending.count <= chunk)
        }
        start = nl + 1
      }
      progress.update(done)
    }
    if !skipping && !pending.isEmpty { try pending.withUnsafeBytes { try body($0) } }
    progress.finish()
    return true
  }

  /// One line of metrics.jsonl, read.
  public enum Line {
    case step(MetricsRecord)
    case event(MetricsEvent)
  }

  /// A line as a step record (one with a `step`) or an event (one with an `event`); nil for
  /// anything else, such as an interrupted run's partial last line.
  public static func record(_ line: UnsafeRawBufferPointer) -> Line? {
    guard !line.isEmpty else { return nil }
    let data = Data(line)
    // An event, or a step record with a source named "event": parsed to tell.
    if contains(line, "\"event\""), let e = RecordCoding.decode(MetricsEvent.self, from: data), e.event != nil {
      return e.step == nil ? nil : .event(e)
    }
    guard let r = RecordCoding.decode(MetricsRecord.self, from: data), r.step != nil else { return nil }
    return .step(r)
  }

  /// Whether `line` contains `needle` (a cheap test before parsing).
  static func contains(_ line: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
    let n = needle.utf8CodeUnitCount
    guard let base = line.baseAddress, line.count >= n, n > 0 else { return false }
    let first = Int32(needle.utf8Start[0])
    var i = 0
    while i <= line.count - n {
      guard let hit = memchr(base + i, first, line.count - n - i + 1) else { return false }
      let j = base.distance(to: UnsafeRawPointer(hit))
      if memcmp(base + j, needle.utf8Start, n) == 0 { return true }
      i = j + 1
    }
    return false
  }

  /// Progress lines on stderr for a long read.
  struct Progress {
    let label: String
    let total: Int
    let shown: Bool
    var last = ProcessInfo.processInfo.systemUptime
    var printed = false

    init(label: String, total: Int) {
      self.label = label
      self.total = total
      shown = total >= MetricsStream.progressBytes
    }

    mutating func update(_ done: Int) {
      guard shown else { return }
      let now = ProcessInfo.processInfo.systemUptime
      guard now - last >= MetricsStream.progressSeconds else { return }
      last = now
      printed = true
      Self.write(
        "\(label): read \(done >> 20) of \(total >> 20) MiB (\(Int(100 * Double(done) / Double(max(1, total))))%)")
    }

    mutating func finish() {
      if printed { Self.write("\(label): read \(total >> 20) MiB") }
    }

    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
  }
}

/// The step and event records of a metrics file, thinned to at most a fixed
/// number of evenly spaced step records (and events), read with
/// ``MetricsStream`` in bounded memory: what a report's pictures need.
///
/// Choice: thinning by halving. Every `stride`-th step line is parsed and
/// kept; when `2 * limit` are kept, every other one is dropped and the stride
/// doubles, so the kept lines stay evenly spaced (line 0, s, 2s, ...) without
/// knowing the count in advance, and lines between them are never parsed.
/// The last step record is always kept (an unfinished run's last step and
/// accuracy).
public struct MetricsSample {
  /// Kept step records, in file order.
  public private(set) var steps: [MetricsRecord] = []
  /// Kept event records, in file order (thinned the same way beyond the limit).
  public private(set) var events: [MetricsEvent] = []
  /// Step lines in the file (every line that is not an event), kept or not.
  public private(set) var stepLines = 0
  /// Event records in the file.
  public private(set) var eventCount = 0
  /// The distance in lines between kept step records (1: all kept).
  public private(set) var stride = 1

  /// Whether records were left out.
  public var thinned: Bool { stride > 1 || eventStride > 1 }

  var eventStride = 1
  var stepIndex: [Int] = []
  var eventIndex: [Int] = []

  /// Reads `path` keeping at most `2 * limit` step records and `2 * limit` events
  /// (at least `limit` of each when the file holds them). An absent file gives an empty sample.
  public init(path: String, limit: Int = 2000, label: String? = nil) throws {
    precondition(limit >= 1)
    // The last two step lines as read: the last step record is kept even when thinning left it
    // out, and an interrupted run's partial last line falls back to the one before.
    var tail: [(index: Int, bytes: [UInt8])] = [(-1, []), (-1, [])]
    try MetricsStream.forEachLine(path: path, label: label) { line in
      if MetricsStream.contains(line, "\"event\"") {
        // An event, or a step record with a source named "event": parsed to tell.
        guard let event = RecordCoding.decode(MetricsEvent.self, from: Data(line)) else { return }
        if event.event != nil {
          guard event.step != nil else { return }
          Self.keep(event, index: eventCount, into: &events, &eventIndex, stride: &eventStride, limit: limit)
          eventCount += 1
          return
        }
      }
      let i = stepLines
      stepLines += 1
      tail.swapAt(0, 1)
      tail[1].index = i
      tail[1].bytes = Self.copy(line)
      if i % stride == 0, case .step(let record)? = MetricsStream.record(line) {
        Self.keep(record, index: i, into: &steps, &stepIndex, stride: &stride, limit: limit)
      }
    }
    for (index, bytes) in tail.reversed() where index >= 0 {
      if index <= (stepIndex.last ?? -1) { break }
      guard case .step(let record)? = bytes.withUnsafeBytes({ MetricsStream.record($0) }) else { continue }
      steps.append(record)
      stepIndex.append(index)
      break
    }
  }

  /// The bytes of `line` (memcpy: a byte-wise copy of every line is slow in a debug build).
  static func copy(_ line: UnsafeRawBufferPointer) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: line.count) { buffer, count in
      if let from = line.baseAddress, line.count > 0 { memcpy(buffer.baseAddress!, from, line.count) }
      count = line.count
    }
  }

  /// Appends `record` (line `index`, a multiple of `stride`); at `2 * limit` records keeps every other one.
  static func keep<Record>(
    _ record: Record, index: Int, into records: inout [Record], _ indices: inout [Int],
    stride: inout Int, limit: Int
  ) {
    guard index % stride == 0 else { return }
    records.append(record)
    indices.append(index)
    guard records.count >= 2 * limit else { return }
    stride *= 2
    var kept: [Record] = [], keptIndex: [Int] = []
    kept.reserveCapacity(limit + 1)
    for (r, i) in zip(records, indices) where i % stride == 0 {
      kept.append(r)
      keptIndex.append(i)
    }
    records = kept
    indices = keptIndex
  }
}
