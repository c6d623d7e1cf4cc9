import Foundation
import GradMixTestSupport
import Testing

@testable import GradMixData

/// ``MemoryLimits`` on fixture `/proc` and cgroup trees (issue #28, row 6).
@Suite("memory limits")
struct MemoryLimitsTests {
  /// A fake file system: `files` (path → text) under a new folder, which is returned.
  static func tree(_ files: [String: String]) throws -> String {
    let root = try makeTemporaryDirectory("gradmix-memlimits")
    for (path, text) in files {
      let full = root + path
      try FileManager.default.createDirectory(
        atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }
    return root
  }

  static let meminfo = "MemTotal:       25000000 kB\nMemAvailable:   20000000 kB\n"
  static let status = "Name:\tgradmix\nVmSize:\t  1048576 kB\nVmRSS:\t   102400 kB\n"
  static let gib = 1_073_741_824.0

  static func limits(_ root: String, env: [String: String] = [:]) -> MemoryLimits {
    MemoryLimits(proc: root + "/proc", fileSystemRoot: root, environment: env)
  }

  @Test("cgroup v2: the process's own cgroup and its ancestors, not the root's; inactive file pages do not count")
  func v2() throws {
    let root = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/cgroup": "0::/system.slice/slurmstepd.scope/job_42/step_0/user/task_0\n",
      "/proc/self/mountinfo":
        "25 30 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n26 30 0:5 / /proc rw - proc proc rw\n",
      // The root cgroup has no limit; the job has 3 GiB, of which 1 GiB is used (0.25 GiB inactive file pages).
      "/sys/fs/cgroup/memory.max": "max\n",
      "/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/memory.max": "3221225472\n",
      "/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/memory.current": "1073741824\n",
      "/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/memory.stat": "anon 805306368\ninactive_file 268435456\n",
      "/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/step_0/user/task_0/memory.max": "max\n",
      "/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/step_0/user/task_0/memory.current": "5000\n",
    ])
    let f = try #require(Self.limits(root).smallest())
    #expect(f.bytes == 3 * Self.gib - 0.75 * Self.gib, "\(f)")
    #expect(f.source.contains("job_42/memory.max"), "\(f)")
  }

  @Test("cgroup v2 in a container (cgroup namespace): its cgroup is the mount's root")
  func v2Container() throws {
    let root = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/cgroup": "0::/\n",
      "/proc/self/mountinfo": "700 690 0:30 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n",
      "/sys/fs/cgroup/memory.max": "2147483648\n", "/sys/fs/cgroup/memory.current": "536870912\n",
    ])
    let f = try #require(Self.limits(root).smallest())
    #expect(f.bytes == 1.5 * Self.gib, "\(f)")
  }

  @Test("cgroup v1: the memory hierarchy's mount, the process's path under it (also when the mount shows a subtree)")
  func v1() throws {
    let root = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/cgroup": "9:name=systemd:/\n4:memory:/slurm/uid_0/job_7/step_batch\n3:cpuset:/\n0::/\n",
      "/proc/self/mountinfo": """
      31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

      """,
      "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
      "/sys/fs/cgroup/memory/memory.usage_in_bytes": "9000000000\n",
      "/sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.limit_in_bytes": "4294967296\n",
      "/sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.usage_in_bytes": "1073741824\n",
      "/sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.stat": "cache 10\ntotal_inactive_file 0\n",
      "/sys/fs/cgroup/memory/slurm/uid_0/job_7/step_batch/memory.limit_in_bytes": "9223372036854771712\n",
      "/sys/fs/cgroup/memory/slurm/uid_0/job_7/step_batch/memory.usage_in_bytes": "1000\n",
    ])
    let f = try #require(Self.limits(root).smallest())
    #expect(f.bytes == 3 * Self.gib, "\(f)")
    #expect(f.source.contains("job_7/memory.limit_in_bytes"), "\(f)")

    // Docker without a cgroup namespace: the mount shows /docker/abc as its root.
    let docker = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/cgroup": "4:memory:/docker/abc\n",
      "/proc/self/mountinfo": "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
      "/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n",
      "/sys/fs/cgroup/memory/memory.usage_in_bytes": "0\n",
    ])
    #expect(Self.limits(docker).smallest()?.bytes == Self.gib)
  }

  @Test("RLIMIT_AS less VmSize, and GRADMIX_MEMORY_LIMIT with units less VmRSS")
  func rlimitAndOverride() throws {
    let root = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/limits": """
      Limit                     Soft Limit           Hard Limit           Units
      Max address space         2147483648           unlimited            bytes

      """,
    ])
    let f = try #require(Self.limits(root).smallest())
    #expect(f.bytes == 2 * Self.gib - Self.gib, "\(f)")
    #expect(f.source.contains("RLIMIT_AS"), "\(f)")
    let g = try #require(Self.limits(root, env: ["GRADMIX_MEMORY_LIMIT": "500MiB"]).smallest())
    #expect(g.bytes == 400 * 1_048_576, "\(g)")
    #expect(MemoryLimits.parseBytes("3GiB") == 3 * Self.gib && MemoryLimits.parseBytes("3 GB") == 3e9)
    #expect(MemoryLimits.parseBytes("2e9") == 2e9 && MemoryLimits.parseBytes("-1") == nil)
    #expect(MemoryLimits.parseBytes("3XB") == nil && MemoryLimits.parseBytes("GiB") == nil)
    // Unlimited: only MemAvailable.
    let free = try Self.tree([
      "/proc/meminfo": Self.meminfo, "/proc/self/status": Self.status,
      "/proc/self/limits": "Max address space         unlimited            unlimited            bytes\n",
    ])
    let unlimited = try #require(Self.limits(free).smallest())
    #expect(unlimited.bytes == 20_000_000 * 1024.0, "\(unlimited)")
  }

  @Test("the test hook GRADMIX_TEST_CGROUP_ROOT reads the cgroup files from a fixture tree, the rest from /proc")
  func cgroupHook() throws {
    let root = try Self.tree([
      "/proc/self/cgroup": "0::/job\n",
      "/proc/self/mountinfo": "25 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "/sys/fs/cgroup/job/memory.max": "1073741824\n", "/sys/fs/cgroup/job/memory.current": "268435456\n",
    ])
    let hooked = MemoryLimits(environment: ["GRADMIX_TEST_CGROUP_ROOT": root])
    let cgroup = hooked.figures().filter { $0.source.hasPrefix("cgroup") }
    #expect(cgroup == [MemoryLimits.Figure(bytes: 0.75 * Self.gib, source: cgroup.first?.source ?? "")], "\(cgroup)")
    #expect(cgroup.first?.source.contains("/sys/fs/cgroup/job/memory.max") == true)
    // The real MemAvailable is still read.
    #expect(hooked.figures().contains { $0.source.contains("MemAvailable") })
    // Without the hook, not the fixture.
    #expect(!MemoryLimits(environment: [:]).figures().contains { $0.bytes == 0.75 * Self.gib })
  }

  @Test("mountinfo's octal escapes")
  func unescape() {
    #expect(MemoryLimits.Mount.unescape("/a\\040b") == "/a b")
    #expect(MemoryLimits.Mount.unescape("/plain") == "/plain")
  }
}
