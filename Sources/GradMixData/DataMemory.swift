import Foundation

/// How much memory data may take, checked before any large allocation.
///
/// Choice: the limit is the smallest of ``MemoryLimits`` (the kernel's
/// `MemAvailable`, the process's memory cgroup, `RLIMIT_AS`,
/// `GRADMIX_MEMORY_LIMIT`), read fresh at each check so what is already held
/// counts, or physical memory where none is readable, overridable with
/// `GRADMIX_DATA_MEMORY=<bytes>` for a process (docs/CONFIG.md) and with
/// ``limitOverride`` for one task (the tests of the refusal). A
/// reader asks ``check(_:what:)`` with the bytes it is about to allocate, so
/// data that would not fit ends in one `error:` line instead of the OOM killer.
public enum DataMemory {
  /// A limit for the current task only (tests: unlike the environment variable, it cannot leak into
  /// another test running at the same time).
  @TaskLocal public static var limitOverride: Int?

  /// The bytes data may take now.
  public static var available: Int {
    if let n = limitOverride { return n }
    if let s = ProcessInfo.processInfo.environment["GRADMIX_DATA_MEMORY"], let n = Int(s), n > 0 { return n }
    if let f = MemoryLimits().smallest() { return Int(f.bytes) }
    return Int(clamping: ProcessInfo.processInfo.physicalMemory)
  }

  /// Throws if `bytes` more would not fit.
  ///
  /// - Parameters:
  ///   - bytes: the size of the allocation about to happen.
  ///   - what: the file or domain it is for (named in the error).
  /// - Throws: ``DataError/outOfMemory(what:needed:available:)``.
  public static func check(_ bytes: Int, what: String) throws {
    let limit = available
    guard bytes <= limit else { throw DataError.outOfMemory(what: what, needed: bytes, available: limit) }
  }

  /// `a * b * ...` or nil on overflow.
  static func product(_ xs: [Int]) -> Int? {
    var p = 1
    for x in xs {
      guard x >= 0 else { return nil }
      let (r, o) = p.multipliedReportingOverflow(by: x)
      if o { return nil }
      p = r
    }
    return p
  }
}
