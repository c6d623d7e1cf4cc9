import Foundation

/// The memory this process may still allocate: the kernel's `MemAvailable`
/// and, inside a container or a batch job, the cgroup's limit less its usage.
///
/// Reads `/proc/meminfo` and the cgroup v2 (`memory.max`, `memory.current`)
/// or v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes`) files of
/// `/sys/fs/cgroup`; the smaller figure wins. Returns nil where none can be
/// read (then nothing is refused). `GRADMIX_MEMORY_LIMIT` (bytes) overrides
/// both, for tests. Choice: the figures the kernel's OOM killer acts on.
public struct AvailableMemory: Equatable, Sendable {
  public let bytes: Double
  /// Where the figure comes from (`MemAvailable`, `cgroup memory.max`, ...).
  public let source: String

  public init(bytes: Double, source: String) { self.bytes = bytes; self.source = source }

  public static func current() -> AvailableMemory? {
    if let s = ProcessInfo.processInfo.environment["GRADMIX_MEMORY_LIMIT"], let b = Double(s) {
      return AvailableMemory(bytes: b, source: "GRADMIX_MEMORY_LIMIT")
    }
    var best: AvailableMemory?
    func consider(_ bytes: Double?, _ source: String) {
      guard let bytes, bytes >= 0 else { return }
      if best == nil || bytes < best!.bytes { best = AvailableMemory(bytes: bytes, source: source) }
    }
    consider(memAvailable(), "MemAvailable in /proc/meminfo")
    if let max = number("/sys/fs/cgroup/memory.max"), let used = number("/sys/fs/cgroup/memory.current") {
      consider(max - used, "cgroup memory.max less memory.current")
    } else if let max = number("/sys/fs/cgroup/memory/memory.limit_in_bytes"), max < 1e18,
      let used = number("/sys/fs/cgroup/memory/memory.usage_in_bytes")
    {
      consider(max - used, "cgroup memory.limit_in_bytes less usage")
    }
    return best
  }

  static func memAvailable() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
      let parts = line.split(separator: " ")
      if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1024 }
    }
    return nil
  }

  /// A number in a cgroup file (`max` reads as none).
  static func number(_ path: String) -> Double? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
