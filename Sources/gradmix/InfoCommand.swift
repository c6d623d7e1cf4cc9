import ArgumentParser
import GradMixDistributed
import GradMixEngine

/// `gradmix info`: what this binary runs on (BLAS, MPI world).
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Print the BLAS configuration and this process's MPI rank and world size.")

  @Flag(help: "Skip MPI initialisation (print only the BLAS configuration).")
  var noMPI = false

  func run() throws {
    print("gradmix \(GradMixCommand.configuration.version)")
    print("BLAS:  \(BLAS.configuration), \(BLAS.openBLASThreads) thread(s)")
    print("core:  \(BLASCore.name)")
    if let warning = BLASCore.warning { printError(warning) }
    guard !noMPI else { return }
    let comm = try MPICommunicator.start()
    print("MPI:   \(MPICommunicator.libraryVersion.split(separator: ",").first ?? "")")
    print("rank \(comm.rank) of \(comm.worldSize) (\(comm.localSize) on this node)")
    comm.finalize()
  }
}
