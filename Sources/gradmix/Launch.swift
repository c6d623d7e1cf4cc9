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

  /// The exit status of a run stopped because it diverged (README, "Reliability").
  static let divergedStatus: Int32 = 3

  /// The longest `--step-timeout`: a week (Choice: longer is no watchdog at all).
  static let maxStepTimeout: Double = 604_800

  /// The most engine threads a rank may ask for: 4 per core (Choice: more only adds scratch memory and switching).
  static var maxThreads: Int { 4 * max(ProcessInfo.processInfo.activeProcessorCount, 1) }

  /// BLAS threads: the option, else the node's cores shared among the ranks on it.
  static func setThreads(_ option: Int?, comm: Communicator) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    BLAS.threads = option ?? max(1, cores / max(comm.localSize, 1))
  }

  /// The exit status of a run stopped by SIGTERM/SIGINT after writing a
  /// checkpoint: 75, `EX_TEMPFAIL` of sysexits.h ("try again later"), so a
  /// scheduler records the job as not completed and a requeued job resumes
  /// (README, "Reliability"; cluster/slurm/gradmix.sbatch).
  static let interruptedStatus: Int32 = 75

  static func finish(_ comm: Communicator) {
    if let mpi = comm as? MPICommunicator { mpi.finalize() }
  }

  /// The start-up agreement: every rank says whether it could start (config,
  /// data, model); if any could not, the lowest such rank prints its error
  /// once and every rank exits with the same code before training starts, so
  /// no rank is left waiting in a collective.
  static func agreeToStart(_ error: Error?, comm: Communicator) {
    guard comm.worldSize > 1 else {
      if let error { fail(error, comm: comm) }
      return
    }
    var first: [Int64] = [error == nil ? Int64.max : Int64(comm.rank)]
    var code: [Int64] = [error.map { Int64(exitCode(for: $0)) } ?? 0]
    do {
      try first.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) }
      try code.withUnsafeMutableBufferPointer { try comm.allreduceMax(inPlace: $0) }
    } catch {
      comm.abort(code: 1, message: "start-up agreement failed: \(error)")
    }
    guard first[0] != Int64.max else { return }
    if let error, Int64(comm.rank) == first[0] {
      printError("error: rank \(comm.rank) of \(comm.worldSize): \(message(for: error))")
    }
    finish(comm)
    exit(Int32(code[0]))
  }

  static func exitCode(for error: Error) -> Int32 {
    switch error {
    // A file that cannot be written (a full disk, a quota) is not the input's fault: 1, as docs/CONFIG.md says.
    case CheckpointError.writeFailed, DataError.writeFailed: return 1
    case is ConfigError, is DataError, is CheckpointError, is ModelSpecError, is ValidationError: return 2
    default: return 1
    }
  }

  static func message(for error: Error) -> String {
    switch error {
    case let e as ConfigError: return e.description
    case let e as DataError: return e.description
    case let e as CheckpointError: return e.description
    case let e as ModelSpecError: return e.description
    case let e as MPIError: return e.description
    case let e as TrainingError: return e.description
    case let e as ValidationError: return e.message
    default: return "\(error)"
    }
  }

  /// Reports an input error (exit 2) or any other failure (exit 1); under MPI
  /// the whole job ends so no rank waits forever in a collective.
  static func fail(_ error: Error, comm: Communicator) -> Never {
    let text = message(for: error), code = exitCode(for: error)
    if comm.worldSize > 1 { comm.abort(code: code, message: text) }
    printError("error: \(text)")
    exit(code)
  }
}
