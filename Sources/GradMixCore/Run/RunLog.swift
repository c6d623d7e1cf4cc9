import Foundation
import GradMixEngine
import GradMixRecords

/// The run's output folder on the coordinator: `metrics.jsonl` (one JSON
/// object per line), `summary.json`, the resolved config and checkpoints.
final class RunLog {
  let directory: String
  private var metrics: FileHandle?

  /// Creates `directory` (and `checkpoints/`) and opens `metrics.jsonl` for appending.
  init(directory: String, enabled: Bool) throws {
    self.directory = directory
    guard enabled else { metrics = nil; return }
    let fm = FileManager.default
    do {
      try fm.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
    } catch {
      throw ConfigError(
        file: directory, field: "", "cannot create the output folder: \((error as NSError).localizedDescription)")
    }
    let path = directory + "/metrics.jsonl"
    if !fm.fileExists(atPath: path) { _ = fm.createFile(atPath: path, contents: nil) }
    guard let h = FileHandle(forWritingAtPath: path) else {
      throw ConfigError(file: path, field: "", "cannot open for writing")
    }
    h.seekToEndOfFile()
    metrics = h
  }

  deinit { try? metrics?.close() }

  /// Re-opens metrics.jsonl after it was rewritten (resume).
  func reopen() {
    guard metrics != nil else { return }
    try? metrics?.close()
    metrics = FileHandle(forWritingAtPath: directory + "/metrics.jsonl")
    metrics?.seekToEndOfFile()
  }

  /// Appends one record (a ``MetricsRecord`` or a ``MetricsEvent``) to metrics.jsonl.
  /// - Throws: ``OutputError`` if the line cannot be written whole (a full disk).
  func record<R: Encodable>(_ object: R) throws {
    guard let metrics else { return }
    var line = try RecordCoding.encode(object)
    line.append(0x0A)
    try RunLog.write(line, to: metrics, path: directory + "/metrics.jsonl")
  }

  /// Writes `data` to `handle`, reporting a failure as ``OutputError``.
  ///
  /// Foundation's `write(_:)` traps on an I/O error (a `try!` inside), which
  /// turned a full disk into a crash; `write(contentsOf:)` throws instead.
  static func write(_ data: Data, to handle: FileHandle, path: String) throws {
    do {
      try handle.write(contentsOf: data)
    } catch {
      throw OutputError(path: path, reason: errnoDescription(error))
    }
  }

  static func errnoDescription(_ error: Error) -> String {
    let e = error as NSError
    if let posix = e.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(posix.code)))
    }
    if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
    return e.localizedDescription
  }

  /// Writes `object` (a ``RunSummary`` or ``RunInfo``) as pretty JSON to `name` in the output folder, atomically.
  func writeJSON<R: Encodable>(_ object: R, to name: String) throws {
    try AtomicFile.write(RecordCoding.encode(object, pretty: true), to: directory + "/" + name)
  }
}
