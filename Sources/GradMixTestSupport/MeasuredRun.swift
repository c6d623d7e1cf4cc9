import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The result of a program run by ``runMeasured(_:_:environment:)``: how it ended and its peak memory.
public struct MeasuredResult: Sendable {
  /// The exit status, or nil if a signal ended it.
  public let status: Int32?
  /// The signal that ended it, if one did.
  public let signal: Int32?
  public let stdout: String
  public let stderr: String
  /// The child's peak resident set size (`ru_maxrss` from `wait4`), in KiB.
  public let maxRSSKiB: Int
}

/// Runs `path` with `arguments`, output to temporary files, and reports its
/// exit status or signal and its own peak memory (`wait4`, so other
/// children of the test process do not count).
public func runMeasured(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws
  -> MeasuredResult
{
  let dir = try makeTemporaryDirectory("gradmix-measured")
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let outPath = dir + "/stdout", errPath = dir + "/stderr"
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  var env = ProcessInfo.processInfo.environment
  for (k, v) in environment { env[k] = v }
  // A child's ru_maxrss counts the pages it shared with its parent before exec, so measure
  // through GNU time (a small process of its own) where it is installed; else wait4's figure.
  let timePath = "/usr/bin/time", rssPath = dir + "/rss"
  let useTime = FileManager.default.isExecutableFile(atPath: timePath)
  let program = useTime ? timePath : path
  let argv = ((useTime ? [timePath, "-f", "%M", "-o", rssPath, path] : [path]) + arguments).map { strdup($0) } + [nil]
  let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
  var pid: pid_t = 0
  let rc = posix_spawn(&pid, program, &actions, nil, argv, envp)
  guard rc == 0 else { throw NSError(domain: NSPOSIXErrorDomain, code: Int(rc)) }
  var status: Int32 = 0
  var usage = rusage()
  while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
  var signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
  var signal = signaled ? status & 0x7f : 0
  var code = (status >> 8) & 0xff
  let read = { (p: String) in (try? String(contentsOfFile: p, encoding: .utf8)) ?? "" }
  var rss = Int(usage.ru_maxrss)
  if useTime {
    // time(1) reports "Command terminated by signal N" and exits with 128 + N.
    let report = read(rssPath)
    if let line = report.split(separator: "\n").first(where: { $0.contains("terminated by signal") }),
      let n = Int32(line.split(separator: " ").last ?? "")
    {
      signaled = true
      signal = n
    }
    rss = Int(report.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? "") ?? rss
    if signaled { code = 0 }
  }
  return MeasuredResult(
    status: signaled ? nil : code, signal: signaled ? signal : nil,
    stdout: read(outPath), stderr: read(errPath), maxRSSKiB: rss)
}
