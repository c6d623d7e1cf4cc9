import ArgumentParser
import Foundation
import GradMixEngine

/// `--json FILE` of the benchmarks: where `bench engine` and `bench comm`
/// write their records, one JSON list, written atomically.
struct JSONRecordsOption: ParsableArguments {
  @Option(
    help: "Also write the records as a JSON list to this file (bench comm appends to the list there, from rank 0).")
  var json: String?

  /// Throws unless the file's folder exists and is writable, so that a long
  /// benchmark is not lost at its end (issue #28). Nothing without `--json`.
  func checkFolder() throws {
    guard let json else { return }
    let dir = URL(fileURLWithPath: json).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue,
      access(dir, W_OK) == 0
    else { throw ValidationError("--json: \(json): its folder \(dir) does not exist or is not writable") }
  }

  /// Writes `records` as the file's list, after the records already there
  /// when `appending` (a missing or unreadable file counts as an empty list).
  /// Nothing without `--json`.
  func write(_ records: [[String: Any]], appending: Bool) throws {
    guard let json else { return }
    var existing: [Any] = []
    if appending, let data = FileManager.default.contents(atPath: json),
      let list = try? JSONSerialization.jsonObject(with: data) as? [Any]
    {
      existing = list
    }
    let data = try JSONSerialization.data(withJSONObject: existing + records, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(data, to: json)
  }
}
