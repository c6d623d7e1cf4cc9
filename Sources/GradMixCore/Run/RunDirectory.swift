import Foundation

/// Checks an output folder before a run writes anything into it.
///
/// Promise (README, "Reliability"): a run never overwrites or appends to
/// files it did not make. A new run goes into a folder that does not exist,
/// is empty, or holds only the empty skeleton a failed start leaves
/// (`checkpoints/` and an empty `metrics.jsonl`), so a rerun after a failed
/// start is never blocked. `--resume` needs a folder with a `run.json` and no
/// `summary.json` (a finished run has nothing to continue). Choice: the
/// skeleton rule instead of deleting what a failed start made, so nothing is
/// ever removed.
public enum RunDirectory {
  /// The files an unfinished start may leave behind, when empty.
  static let skeleton: Set<String> = ["checkpoints", "metrics.jsonl"]

  /// Throws unless `path` can receive a new run.
  /// - Throws: ``ConfigError`` for the field `--out`.
  public static func checkNew(_ path: String) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
      try checkParent(of: path)
      return
    }
    guard isDir.boolValue else { throw ConfigError(file: path, field: "--out", "is a file, not a folder") }
    guard let entries = try? fm.contentsOfDirectory(atPath: path) else {
      throw ConfigError(file: path, field: "--out", "cannot list the folder (permissions?)")
    }
    if entries.contains("run.json") {
      throw ConfigError(
        file: path, field: "--out",
        "already holds a run (run.json); continue it with --resume \(path) or choose another --out")
    }
    let foreign = entries.filter { !isEmptySkeleton($0, in: path) }.sorted()
    guard foreign.isEmpty else {
      let shown = foreign.prefix(3).joined(separator: ", ") + (foreign.count > 3 ? ", ..." : "")
      throw ConfigError(
        file: path, field: "--out",
        "is not empty and holds no run (found \(shown)); choose a new or empty folder")
    }
    guard fm.isWritableFile(atPath: path) else { throw ConfigError(file: path, field: "--out", "is not writable") }
  }

  /// Throws unless `path` holds an unfinished run to continue.
  /// - Throws: ``ConfigError`` for the field `--resume`.
  public static func checkResumable(_ path: String) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
      throw ConfigError(file: path, field: "--resume", "no such folder")
    }
    guard isDir.boolValue else { throw ConfigError(file: path, field: "--resume", "is a file, not a run's folder") }
    guard fm.fileExists(atPath: path + "/run.json") else {
      throw ConfigError(
        file: path, field: "--resume", "holds no run (run.json); --resume needs the --out folder of a run")
    }
    if fm.fileExists(atPath: path + "/summary.json") {
      throw ConfigError(
        file: path, field: "--resume", "the run already finished (summary.json); there is nothing to continue")
    }
  }

  /// Whether `name` in `dir` is part of the empty skeleton a failed start leaves.
  static func isEmptySkeleton(_ name: String, in dir: String) -> Bool {
    guard skeleton.contains(name) else { return false }
    let path = dir + "/" + name
    if name == "checkpoints" { return (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty ?? false }
    return ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue == 0
  }

  /// The nearest existing ancestor of a new folder must be a writable folder.
  static func checkParent(of path: String) throws {
    var parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let fm = FileManager.default
    while !fm.fileExists(atPath: parent) && parent != "/" && !parent.isEmpty {
      parent = URL(fileURLWithPath: parent).deletingLastPathComponent().path
    }
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
      throw ConfigError(file: path, field: "--out", "cannot be created: \(parent) is not a folder")
    }
    guard fm.isWritableFile(atPath: parent) else {
      throw ConfigError(file: path, field: "--out", "cannot be created: \(parent) is not writable")
    }
  }
}
