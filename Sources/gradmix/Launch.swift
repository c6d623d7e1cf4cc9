import ArgumentParser
import Foundation
import GradMixCore
import GradMixData
import GradMixDistributed
import GradMixEngine

/// Start-up and shut-down shared by the commands that train or evaluate.
enum Launch {
  /// MPI when started by mpirun/srun (or asked for), else a local world of one.
  static func communicator(forceMPI: Bool) throws -> Communicator {
    let env = ProcessInfo.processInfo.environment
    let underLauncher = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["PMIX_RANK"] != nil
    if forceMPI || underLauncher { return try MPICommunicator.start() }
    return LocalCommunicator()
  }

  /// --data-root, then $GRADMIX_DATA, then the config's data_root, then data/raw.
  static func dataRoot(option: String?, config: String?) -> String {
    option ?? ProcessInfo.processInfo.environment["GRADMIX_DATA"] ?? config ?? "data/raw"
  }

  /// BLAS threads: the option, else the node's cores shared among the ranks on it.
  static func setThreads(_ option: Int?, comm: Communicator) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    BLAS.threads = option ?? max(1, cores / max(comm.localSize, 1))
  }

  static func finish(_ comm: Communicator) {
    if let mpi = comm as? MPICommunicator { mpi.finalize() }
  }

  /// Reports an input error (exit 2) or any other failure (exit 1); under MPI
  /// the whole job ends so no rank waits forever in a collective.
  static func fail(_ error: Error, comm: Communicator) -> Never {
    let message: String
    var code: Int32 = 1
    switch error {
    case let e as ConfigError: message = e.description; code = 2
    case let e as DataError: message = e.description; code = 2
    case let e as CheckpointError: message = e.description; code = 2
    case let e as ModelSpecError: message = e.description; code = 2
    case let e as MPIError: message = e.description
    default: message = "\(error)"
    }
    if comm.worldSize > 1 { comm.abort(code: code, message: message) }
    printError("error: \(message)")
    exit(code)
  }
}
