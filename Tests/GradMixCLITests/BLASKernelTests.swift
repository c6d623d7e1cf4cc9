import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// The binary's choice of OpenBLAS kernels at start-up (issue 30): it
/// re-executes itself with the kernels the CPU supports, respects a user's
/// choice, and refuses kernels that fail the sgemm check.
@Suite("OpenBLAS kernel selection at start-up")
struct BLASKernelTests {
  /// Variables of the test's own environment that would decide for the child.
  static let kernelVariables = [
    "OPENBLAS_CORETYPE", "GRADMIX_BLAS_AUTO", "GRADMIX_BLAS_CORETYPE", "GRADMIX_BLAS_CHECK_FAULT",
  ]

  /// `gradmix info --no-mpi` with only `environment` deciding the kernels; returns (core line, result).
  func info(_ environment: [String: String]) throws -> (core: String, result: ProcessResult) {
    let r = try runProduct(
      ["info", "--no-mpi"], environment: environment,
      removing: Self.kernelVariables.filter { environment[$0] == nil })
    #expect(r.status == 0, "\(r.stderr)")
    let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("core:") }.map(String.init) ?? ""
    return (line, r)
  }

  @Test("a user's OPENBLAS_CORETYPE is kept and named as the user's")
  func userValue() throws {
    let (core, r) = try info(["OPENBLAS_CORETYPE": "Haswell"])
    #expect(core == "core:  Haswell (set by user: OPENBLAS_CORETYPE=Haswell)")
    #expect(r.stdout.contains("check: sgemm against a naive loop passed"))
    let (kept, _) = try info(["GRADMIX_BLAS_CORETYPE": "keep"])
    #expect(kept.hasSuffix("(chosen by OpenBLAS; GRADMIX_BLAS_CORETYPE=keep)"))
  }

  @Test("without variables, a generic kernel on an AVX2/AVX-512 CPU is replaced by the fitting one")
  func automatic() throws {
    let (kept, _) = try info(["GRADMIX_BLAS_CORETYPE": "keep"])
    let openBLAS = String(kept.dropFirst("core:  ".count).prefix { $0 != " " })
    let (core, r) = try info([:])
    let fit = BLASCore.fittingCore(cpuFlags: BLASCore.cpuFlags())
    if let fit, !BLASCore.vectorCores.contains(openBLAS.lowercased()) {
      #expect(core.hasPrefix("core:  \(fit) (auto: ") && core.hasSuffix("OpenBLAS chose \(openBLAS))"), "\(core)")
      #expect(!r.stderr.contains("warning"), "\(r.stderr)")
    } else {
      #expect(core == "core:  \(openBLAS) (chosen by OpenBLAS)", "\(core)")
    }
    #expect(r.stdout.contains("check: sgemm against a naive loop passed"))
  }

  @Test("kernels that fail the check are refused with one line, and the fallback computes correctly")
  func fault() throws {
    let (kept, _) = try info(["GRADMIX_BLAS_CORETYPE": "keep"])
    let openBLAS = String(kept.dropFirst("core:  ".count).prefix { $0 != " " })
    guard let fit = BLASCore.fittingCore(cpuFlags: BLASCore.cpuFlags()),
      !BLASCore.vectorCores.contains(openBLAS.lowercased())
    else { return }  // OpenBLAS already fits this CPU: nothing is chosen, so nothing to refuse
    let (core, r) = try info(["GRADMIX_BLAS_CHECK_FAULT": fit])
    #expect(
      core == "core:  \(openBLAS) (fallback: the \(fit) kernels failed the sgemm check, OpenBLAS chose \(openBLAS))")
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].contains("\(fit) kernels failed the sgemm check"), "\(r.stderr)")
    #expect(r.stdout.contains("check: sgemm against a naive loop passed"))
  }
}
