import ArgumentParser
import Foundation
import GradMixCore
import GradMixDistributed
import GradMixEngine

/// `gradmix info`: what this binary runs on (BLAS, MPI world).
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Print the BLAS configuration and this process's MPI rank and world size.")

  @Flag(help: "Skip MPI initialisation (print only the BLAS configuration).")
  var noMPI = false

  @Flag(
    help:
      "Print only the variables that give a process started by another program (a test runner) the kernels this binary chose, as shell assignments."
  )
  var blasEnvironment = false

  @Flag(
    help:
      "Print only the training methods `train --method` accepts, one per line (the one list scripts read; issue #27)."
  )
  var methods = false

  @Flag(help: "With --methods: only the methods the task suite compares, in its table order.")
  var suite = false

  func run() throws {
    if methods {
      for m in suite ? Method.suite : Method.allCases { print(m.rawValue) }
      return
    }
    if blasEnvironment {
      let env = ProcessInfo.processInfo.environment
      for key in ["OPENBLAS_CORETYPE", "GRADMIX_BLAS_AUTO"] { if let v = env[key] { print("\(key)=\(v)") } }
      return
    }
    print("gradmix \(GradMixCommand.configuration.version)")
    print("BLAS:  \(BLAS.configuration), \(BLAS.openBLASThreads) thread(s)")
    print("core:  \(BLASCore.summary)")
    print("conv:  \(RowGemm.summary)")
    let check = BLASCore.check()
    print("check: sgemm against a naive loop \(check.passed ? "passed" : "FAILED") (\(check.detail))")
    if let warning = BLASCore.warning { printError(warning) }
    guard !noMPI else { return }
    let comm = try MPICommunicator.start()
    print("MPI:   \(MPICommunicator.libraryVersion.split(separator: ",").first ?? "")")
    print("rank \(comm.rank) of \(comm.worldSize) (\(comm.localSize) on this node)")
    comm.finalize()
  }
}
