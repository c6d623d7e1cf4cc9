import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The limits on the memory this process may still allocate, each with where it comes from:
/// the kernel's `MemAvailable`, the process's own memory cgroup (v2 or v1, and every
/// ancestor of it), the address-space limit `RLIMIT_AS`, and `GRADMIX_MEMORY_LIMIT`.
///
/// - cgroup: `/proc/self/cgroup` names the process's cgroup (v2 `0::/path`, v1
///   `N:...memory...:/path`); `/proc/self/mountinfo` names where that hierarchy is mounted
///   and which part of it the mount shows (a container sees its own cgroup as `/`). At each
///   level from the process's cgroup up to the mount, a numeric limit (`memory.max`,
///   `memory.limit_in_bytes`) less that level's working set (usage less inactive file
///   pages, which the kernel reclaims before it kills) is what is left; a Slurm job's limit
///   sits on the job's cgroup, above the step's and the task's (issue #28: the root
///   cgroup's files were read, not the process's own).
/// - `RLIMIT_AS` (`ulimit -v`): the limit less the process's `VmSize`.
/// - `GRADMIX_MEMORY_LIMIT` (`3GiB`, `500MiB`, `2e9`): a limit on this process, less its `VmRSS`.
///
/// Choice: the figures the kernel acts on (the OOM killer, a failing `mmap`), read fresh
/// at each check, so what the process already holds counts. The roots are parameters so
/// tests can read fixture files; `GRADMIX_TEST_CGROUP_ROOT` (a test hook) does the same for a whole process.
public struct MemoryLimits: Sendable {
  /// One figure: bytes that may still be allocated, and where it comes from.
  public struct Figure: Equatable, Sendable {
    public let bytes: Double
    public let source: String
    public init(bytes: Double, source: String) { self.bytes = bytes; self.source = source }
  }

  /// The folder holding `meminfo` and `self/` (`/proc`).
  public var proc: String
  /// Prefixed to every mount point read from `mountinfo` (empty: the real file system).
  public var fileSystemRoot: String
  /// The folder holding `self/cgroup` and `self/mountinfo` (``proc`` unless the test hook says otherwise).
  public var cgroupProc: String
  /// `getrlimit(RLIMIT_AS)`'s soft limit; nil reads `proc/self/limits`.
  public var addressSpaceLimit: Double?
  public var environment: [String: String]

  public init(
    proc: String = "/proc", fileSystemRoot: String = "", addressSpaceLimit: Double? = nil,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.proc = proc
    self.fileSystemRoot = fileSystemRoot
    self.cgroupProc = proc
    // Test hook: a fixture tree stands in for the cgroup files of the process
    // (`ROOT/proc/self/cgroup`, `ROOT/proc/self/mountinfo`, the mounts under
    // ROOT), so a command-line test can run "inside" a cgroup v1 or v2 limit
    // without creating one. Memory, VmSize and VmRSS stay the real ones.
    if let hook = environment["GRADMIX_TEST_CGROUP_ROOT"], !hook.isEmpty, fileSystemRoot.isEmpty {
      self.cgroupProc = hook + "/proc"
      self.fileSystemRoot = hook
    }
    self.addressSpaceLimit = addressSpaceLimit
    self.environment = environment
  }

  /// The smallest figure, or nil where none can be read.
  public func smallest() -> Figure? { figures().min { $0.bytes < $1.bytes } }

  /// Every figure that can be read.
  public func figures() -> [Figure] {
    var out: [Figure] = []
    if let kb = Self.field("MemAvailable:", in: text(proc + "/meminfo")) {
      out.append(Figure(bytes: kb * 1024, source: "MemAvailable in /proc/meminfo"))
    }
    out += cgroupFigures()
    let status = text(proc + "/self/status")
    if let limit = addressSpaceLimit ?? limitsFileAddressSpace(), let vm = Self.field("VmSize:", in: status) {
      out.append(
        Figure(bytes: max(0, limit - vm * 1024), source: "RLIMIT_AS (ulimit -v) \(Self.format(limit)) less VmSize"))
    }
    if let s = environment["GRADMIX_MEMORY_LIMIT"], let limit = Self.parseBytes(s) {
      let rss = (Self.field("VmRSS:", in: status) ?? 0) * 1024
      out.append(Figure(bytes: max(0, limit - rss), source: "GRADMIX_MEMORY_LIMIT=\(s) less VmRSS"))
    }
    return out
  }

  /// `3GiB`, `3 GiB`, `500M`, `2e9`, `1024` → bytes; nil if malformed or not positive.
  public static func parseBytes(_ s: String) -> Double? {
    let t = s.trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [
      ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776), ("KB", 1e3), ("MB", 1e6),
      ("GB", 1e9),
      ("TB", 1e12), ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824), ("T", 1_099_511_627_776), ("B", 1),
    ]
    for (u, f) in units where t.hasSuffix(u) {
      guard let v = Double(t.dropLast(u.count).trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else {
        return nil
      }
      return v * f
    }
    guard let v = Double(t), v.isFinite, v > 0 else { return nil }
    return v
  }

  // MARK: - cgroup

  /// What each limited level of this process's memory cgroup leaves.
  func cgroupFigures() -> [Figure] {
    let mounts = text(cgroupProc + "/self/mountinfo").split(separator: "\n").compactMap(Mount.init)
    var out: [Figure] = []
    for line in text(cgroupProc + "/self/cgroup").split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3 else { continue }
      let controllers = parts[1].split(separator: ",")
      let path = String(parts[2])
      if parts[0] == "0" && parts[1].isEmpty {
        guard let m = mounts.first(where: { $0.type == "cgroup2" }) else { continue }
        out += levels(mount: m, path: path, limit: "memory.max", usage: "memory.current", stat: "inactive_file")
      } else if controllers.contains("memory") {
        guard let m = mounts.first(where: { $0.type == "cgroup" && $0.options.contains("memory") }) else { continue }
        out += levels(
          mount: m, path: path, limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes",
          stat: "total_inactive_file")
      }
    }
    return out
  }

  /// The figures of the folder of cgroup `path` under mount `m` and of each ancestor up to the mount.
  func levels(mount m: Mount, path: String, limit: String, usage: String, stat: String) -> [Figure] {
    // The mount shows the hierarchy from m.root down: a process in m.root/x is at mountPoint/x.
    var relative = path
    if m.root != "/" {
      if path == m.root {
        relative = "/"
      } else if path.hasPrefix(m.root + "/") {
        relative = String(path.dropFirst(m.root.count))
      } else {
        relative = "/"  // outside the mount's view (e.g. a namespace): the mount's own level
      }
    }
    let base = fileSystemRoot + m.point
    var components = relative.split(separator: "/").map(String.init)
    var out: [Figure] = []
    while true {
      let dir = base + (components.isEmpty ? "" : "/" + components.joined(separator: "/"))
      // v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); v2 as "max".
      if let max = Self.number(text(dir + "/" + limit)), max < 1e18, let used = Self.number(text(dir + "/" + usage)) {
        let inactive = Self.statField(stat, in: text(dir + "/memory.stat")) ?? 0
        let working = Swift.max(0, used - inactive)
        out.append(
          Figure(
            bytes: Swift.max(0, max - working),
            source: "cgroup \(dir.dropFirst(fileSystemRoot.count))/\(limit) \(Self.format(max)) less its usage"))
      }
      if components.isEmpty { break }
      components.removeLast()
    }
    return out
  }

  /// One line of `/proc/self/mountinfo`: `id parent major:minor root point options ... - type source superoptions`.
  struct Mount {
    let root: String
    let point: String
    let type: String
    let options: [Substring]

    init?(_ line: Substring) {
      let halves = line.components(separatedBy: " - ")
      guard halves.count >= 2 else { return nil }
      let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
      guard left.count >= 6, right.count >= 3 else { return nil }
      root = Mount.unescape(String(left[3]))
      point = Mount.unescape(String(left[4]))
      type = String(right[0])
      options = right[2].split(separator: ",") + left[5].split(separator: ",")
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescape(_ s: String) -> String {
      guard s.contains("\\") else { return s }
      var out = "", chars = Array(s), i = 0
      while i < chars.count {
        if chars[i] == "\\", i + 3 < chars.count, let v = UInt8(String(chars[(i + 1)...(i + 3)]), radix: 8) {
          out.append(Character(UnicodeScalar(v)))
          i += 4
        } else {
          out.append(chars[i])
          i += 1
        }
      }
      return out
    }
  }

  // MARK: - Files

  func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

  /// The soft `Max address space` of `proc/self/limits` (bytes), nil if unlimited or unreadable.
  func limitsFileAddressSpace() -> Double? {
    for line in text(proc + "/self/limits").split(separator: "\n") where line.hasPrefix("Max address space") {
      let fields = line.dropFirst("Max address space".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
      return fields.first.flatMap { Double($0) }
    }
    return nil
  }

  /// The number after `name` on its line (`MemAvailable:   123 kB` → 123).
  static func field(_ name: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name) {
      return line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) }
    }
    return nil
  }

  /// `key value` in a `memory.stat` file.
  static func statField(_ key: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") {
      let p = line.split(separator: " ")
      if p.count == 2, p[0] == key { return Double(p[1]) }
    }
    return nil
  }

  /// A number in a cgroup file (`max` reads as none).
  static func number(_ text: String) -> Double? { Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) }

  static func format(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = bytes, u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[u])
  }
}
