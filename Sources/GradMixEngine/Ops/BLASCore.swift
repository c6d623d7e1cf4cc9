import Foundation

/// Which OpenBLAS kernel set ("core") this process runs, and whether it
/// wastes the CPU.
///
/// A `DYNAMIC_ARCH` OpenBLAS picks its kernels at load time from the CPU it
/// detects. OpenBLAS 0.3.21 was seen to fall back to its generic `Prescott`
/// kernels on an AVX-512 Xeon it did not recognise, which ran the engine
/// about 2.6× slower per core until `OPENBLAS_CORETYPE=SkylakeX` was set
/// (issue 14). The environment variable is read by OpenBLAS when the library
/// loads, so it must be set before the process starts: the binaries
/// re-execute themselves with it (``selectAtStartup()``, issue 30).
public enum BLASCore {
  /// OpenBLAS's kernel set, e.g. `Haswell`, `Zen`, `SkylakeX`, `Prescott`.
  public static var name: String { BLAS.coreName }

  /// Kernel sets that use AVX2 or AVX-512 (OpenBLAS `driver/others/dynamic.c`).
  public static let vectorCores: Set<String> = [
    "haswell", "zen", "skylakex", "cooperlake", "sapphirerapids",
    "excavator",
  ]

  /// The flags of the first CPU in /proc/cpuinfo (empty where there is none).
  public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
      let colon = line.firstIndex(of: ":")
    else { return [] }
    return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
  }

  /// A warning when `core` is a kernel set older than the CPU (a CPU with
  /// AVX2 or AVX-512 running non-AVX2 kernels), naming the
  /// `OPENBLAS_CORETYPE` that fits; nil when the core fits or is unknown.
  public static func warning(core: String, cpuFlags: Set<String>) -> String? {
    let avx512 = cpuFlags.contains("avx512f"), avx2 = cpuFlags.contains("avx2")
    guard avx512 || avx2, core != "unknown", !vectorCores.contains(core.lowercased()) else { return nil }
    let fit = avx512 ? "SkylakeX" : "Haswell"
    return "warning: OpenBLAS runs its \(core) kernels on a CPU with \(avx512 ? "AVX-512" : "AVX2"); "
      + "set OPENBLAS_CORETYPE=\(fit) in the environment (before the program starts) for the fast ones"
  }

  /// The warning for this process's core and CPU, if any (none after a
  /// fallback from kernels that failed the check: the advice would be wrong).
  public static var warning: String? {
    reason.hasPrefix("fallback") ? nil : warning(core: name, cpuFlags: cpuFlags())
  }
}
