import Foundation
import GradMixEngine

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

  /// Appends one record to metrics.jsonl.
  /// - Throws: ``OutputError`` if the line cannot be written whole (a full disk).
  func record(_ object: [String: Any]) throws {
    guard let metrics else { return }
    var line = RunLog.encode(object)
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

  /// Writes `object` as pretty JSON to `name` in the output folder, atomically.
  func writeJSON(_ object: [String: Any], to name: String) throws {
    try AtomicFile.write(RunLog.encode(object, pretty: true), to: directory + "/" + name)
  }

  /// JSON bytes with non-finite numbers written as null (JSON has no NaN).
  static func encode(_ object: [String: Any], pretty: Bool = false) -> Data {
    let clean = sanitize(object)
    let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    return (try? JSONSerialization.data(withJSONObject: clean, options: options)) ?? Data("{}".utf8)
  }

  static func sanitize(_ value: Any) -> Any {
    switch value {
    case let d as Double: return d.isFinite ? d : NSNull()
    case let f as Float: return f.isFinite ? Double(f) : NSNull()
    case let a as [Any]: return a.map(sanitize)
    case let m as [String: Any]: return m.mapValues(sanitize)
    default: return value
    }
  }
}
