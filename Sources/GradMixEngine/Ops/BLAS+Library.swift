import COpenBLAS

extension BLAS {
  /// The CPU core kernel OpenBLAS selected at start-up (e.g. `Haswell`).
  ///
  /// Recorded in run.json beside ``configuration``: two cores can round
  /// differently, so a result is traced to the kernel that made it.
  public static var coreName: String {
    guard let c = openblas_get_corename() else { return "unknown" }
    return String(cString: c)
  }
}
