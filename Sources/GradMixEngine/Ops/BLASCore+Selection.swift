import Foundation

/// Choosing OpenBLAS's kernel set at start-up, without user action (issue 30).
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when the library loads, so a
/// process that finds a generic kernel set (OpenBLAS 0.3.21 picks `Prescott`
/// on AVX-512 Xeons it does not know, ~3× slower) re-executes itself
/// (`execv` of /proc/self/exe with the same arguments: same PID, so mpirun
/// and Slurm keep tracking it) with the variable set, before any BLAS call
/// and before `MPI_Init`. The re-executed process checks the new kernels on a
/// small sgemm against a naive reference and, if they disagree, re-executes
/// once more without the variable (one line on stderr).
///
/// Environment (Choice: variables, so the launchers in cluster/ need no flag):
/// - `OPENBLAS_CORETYPE`, set by the user: always respected.
/// - `GRADMIX_BLAS_CORETYPE=keep`: keep OpenBLAS's own choice (opt out); `auto` (the default) chooses.
/// - `GRADMIX_BLAS_AUTO`: set by the binary on re-execution (`<core>:<OpenBLAS's core>`, or
///   `fallback:<core>:<OpenBLAS's core>`); marks the re-execution so it never loops.
/// - `GRADMIX_BLAS_CHECK_FAULT=<core>`: test hook; the check sees a wrong result on that kernel set.
extension BLASCore {
  /// The kernel set for a CPU with these flags: `SkylakeX` for AVX-512, `Haswell` for AVX2, else nil.
  public static func fittingCore(cpuFlags: Set<String>) -> String? {
    if cpuFlags.contains("avx512f") && cpuFlags.contains("avx512bw") && cpuFlags.contains("avx512vl") {
      return "SkylakeX"
    }
    return cpuFlags.contains("avx2") && cpuFlags.contains("fma") ? "Haswell" : nil
  }

  /// What start-up does about the kernel set.
  public enum Action: Equatable, Sendable {
    /// Run with the loaded kernels; `reason` says why they are the ones.
    case keep(reason: String)
    /// Re-execute with `OPENBLAS_CORETYPE=core` (and the marker set) after a passing check there.
    case reexec(core: String, marker: String)
  }

  /// The decision for a process whose OpenBLAS loaded `core`, on a CPU with
  /// `cpuFlags`, under `environment` (pure: the tests call it directly).
  public static func decide(core: String, cpuFlags: Set<String>, environment env: [String: String]) -> Action {
    let marker = env["GRADMIX_BLAS_AUTO"] ?? ""
    let parts = marker.split(separator: ":").map(String.init)
    // The fallback unsets the variable, so a variable beside any marker but our own is the user's.
    if let user = env["OPENBLAS_CORETYPE"], !user.isEmpty {
      if parts.count == 2, parts[0] == user { return .keep(reason: autoReason(parts[1], cpuFlags: cpuFlags)) }
      return .keep(reason: "set by user: OPENBLAS_CORETYPE=\(user)")
    }
    if parts.count == 3, parts[0] == "fallback" {
      return .keep(reason: "fallback: the \(parts[1]) kernels failed the sgemm check, OpenBLAS chose \(parts[2])")
    }
    if env["GRADMIX_BLAS_CORETYPE"]?.lowercased() == "keep" {
      return .keep(reason: "chosen by OpenBLAS; GRADMIX_BLAS_CORETYPE=keep")
    }
    guard core != "unknown", !vectorCores.contains(core.lowercased()), let fit = fittingCore(cpuFlags: cpuFlags)
    else { return .keep(reason: "chosen by OpenBLAS") }
    // A marker without the variable: the re-execution did not take (not expected); never loop.
    if !marker.isEmpty { return .keep(reason: "chosen by OpenBLAS; the re-execution with \(fit) lost its variable") }
    return .reexec(core: fit, marker: "\(fit):\(core)")
  }

  private static func autoReason(_ openBLASCore: String, cpuFlags: Set<String>) -> String {
    let isa = cpuFlags.contains("avx512f") ? "AVX-512" : "AVX2"
    return "auto: \(isa) CPU, OpenBLAS chose \(openBLASCore)"
  }

  /// Why this process runs its kernel set (for the start-up table, `gradmix info` and run.json).
  public static var reason: String {
    switch decide(core: name, cpuFlags: cpuFlags(), environment: ProcessInfo.processInfo.environment) {
    case .keep(let reason): return reason
    case .reexec(let core, _): return "chosen by OpenBLAS; \(core) would fit, not re-executed"
    }
  }

  /// The kernel set and its reason in one phrase: `SkylakeX (auto: AVX-512 CPU, OpenBLAS chose Prescott)`.
  public static var summary: String { "\(name) (\(reason))" }

  /// Makes this process run the best kernels the CPU supports: call first
  /// thing in `main`, before any BLAS call and before `MPI_Init`. May not
  /// return (re-executes the binary with the same arguments and PID).
  public static func selectAtStartup() {
    let env = ProcessInfo.processInfo.environment
    let flags = cpuFlags()
    switch decide(core: name, cpuFlags: flags, environment: env) {
    case .reexec(let core, let marker):
      setenv("OPENBLAS_CORETYPE", core, 1)
      setenv("GRADMIX_BLAS_AUTO", marker, 1)
      reexecute()  // returns only if execv failed: undo and run on
      unsetenv("OPENBLAS_CORETYPE")
      unsetenv("GRADMIX_BLAS_AUTO")
    case .keep:
      // A kernel chosen here (marker `<core>:<OpenBLAS's core>` matching the variable) is checked once.
      let parts = (env["GRADMIX_BLAS_AUTO"] ?? "").split(separator: ":").map(String.init)
      guard parts.count == 2, env["OPENBLAS_CORETYPE"] == parts[0] else { return }
      let check = check()
      guard !check.passed else { return }
      FileHandle.standardError.write(
        Data(
          ("warning: OpenBLAS's \(name) kernels failed the sgemm check (\(check.detail)); "
            + "falling back to OpenBLAS's own choice, \(parts[1])\n").utf8))
      unsetenv("OPENBLAS_CORETYPE")
      setenv("GRADMIX_BLAS_AUTO", "fallback:\(parts[0]):\(parts[1])", 1)
      reexecute()
      FileHandle.standardError.write(
        Data(("error: could not re-execute /proc/self/exe to fall back from \(name): errno \(errno)\n").utf8))
      exit(1)
    }
  }

  /// `execv("/proc/self/exe", argv)`; returns only on failure.
  private static func reexecute() {
    _ = execv("/proc/self/exe", CommandLine.unsafeArgv)
  }
}
