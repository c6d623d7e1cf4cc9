import ArgumentParser
import Foundation
import GradMixReports

/// Turns command-line paths into run folders: a path holding run.json,
/// summary.json or metrics.jsonl is a run; any other folder is searched one
/// level deep for runs (a sweep's or benchmark's output folder).
enum RunCollection {
  static func isRun(_ path: String) -> Bool {
    ["run.json", "summary.json", "metrics.jsonl"].contains { FileManager.default.fileExists(atPath: path + "/" + $0) }
  }

  /// - Parameter metricsLimit: passed to `RunFolder` (at most about twice this many step records per run).
  /// - Throws: `ValidationError` naming a path that is neither a run nor holds any.
  static func expand(_ paths: [String], readMetrics: Bool = true, metricsLimit: Int? = nil) throws -> [RunFolder] {
    var out: [RunFolder] = []
    for p in paths {
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("\(p): not a folder")
      }
      if isRun(p) {
        do { out.append(try RunFolder(path: p, readMetrics: readMetrics, metricsLimit: metricsLimit)) } catch {
          throw ValidationError("\(error)")
        }
        continue
      }
      let children = ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).sorted()
        .map { p + "/" + $0 }.filter(isRun)
      guard !children.isEmpty else {
        throw ValidationError("\(p): holds no run (no run.json, summary.json or metrics.jsonl)")
      }
      out += children.compactMap { try? RunFolder(path: $0, readMetrics: readMetrics, metricsLimit: metricsLimit) }
    }
    return out
  }
}
