import Foundation

/// How much memory data may take, checked before any large allocation.
///
/// Choice: the limit is the kernel's `MemAvailable` (Linux `/proc/meminfo`),
/// or physical memory where that is missing, overridable with
/// `GRADMIX_DATA_MEMORY=<bytes>` (tests use it to exercise the refusal). A
/// reader asks ``check(_:what:)`` with the bytes it is about to allocate, so
/// data that would not fit ends in one `error:` line instead of the OOM killer.
public enum DataMemory {
  /// The bytes data may take now.
  public static var available: Int {
    if let s = ProcessInfo.processInfo.environment["GRADMIX_DATA_MEMORY"], let n = Int(s), n > 0 { return n }
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let parts = line.split(separator: " ")
        if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
      }
    }
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
