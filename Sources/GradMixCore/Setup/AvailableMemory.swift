import Foundation
import GradMixData

/// The memory this process may still allocate: the smallest of the kernel's
/// `MemAvailable`, what the process's own memory cgroup (v2 or v1, and its
/// ancestors) leaves, what `RLIMIT_AS` leaves, and `GRADMIX_MEMORY_LIMIT`
/// (`3GiB`, bytes; a limit on this process) less what it holds
/// (``MemoryLimits``, shared with the data layer's ``DataMemory``). Returns nil
/// where none can be read (then nothing is refused). Choice: the figures the
/// kernel acts on (the OOM killer, a failing `mmap`).
public struct AvailableMemory: Equatable, Sendable {
  public let bytes: Double
  /// Where the figure comes from (`MemAvailable`, `cgroup .../memory.max`, ...).
  public let source: String

  public init(bytes: Double, source: String) { self.bytes = bytes; self.source = source }

  public static func current(_ limits: MemoryLimits = MemoryLimits()) -> AvailableMemory? {
    limits.smallest().map { AvailableMemory(bytes: $0.bytes, source: $0.source) }
  }
}
