import ArgumentParser
import Foundation
import GradMixCore
import GradMixEngine

/// `gradmix`: multi-source transfer training with layer-wise gradient mixing.
@main
struct GradMixCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gradmix",
    abstract: "Multi-source transfer training with GradMix on an OpenBLAS engine, over MPI.",
    discussion: """
      Run without mpirun, every command runs in one process. See README.md for the \
      digits benchmark and docs/DESIGN.md for the method.
      """,
    version: Provenance.versionLine,
    subcommands: [
      TrainCommand.self, EvalCommand.self, SweepCommand.self, TableCommand.self, ReportCommand.self,
      ExportCommand.self, BenchCommand.self, DataCommand.self, InfoCommand.self, InspectCheckpointCommand.self,
    ])

  /// Runs the command. Usage and input errors print exactly one line
  /// `error: <option or file>: <fault>` on stderr and exit with status 2 (as
  /// other Unix tools do); other failures print one line and exit with 1.
  /// `--help` and `--version` print as usual. Choice: we replace
  /// ArgumentParser's `Error:` plus usage block with one line, so a script
  /// (or a person scanning a log) sees one message per failure (README,
  /// "Reliability").
  static func main() {
    // Before any BLAS call and before MPI_Init: may re-execute with the fitting OpenBLAS kernels.
    BLASCore.selectAtStartup()
    var parsed = false
    do {
      var command = try parseAsRoot(
        CommandLineArguments.joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
      parsed = true
      try command.run()
    } catch {
      let code = exitCode(for: error)
      // Help, --version, and commands that already printed their error and chose a status.
      if code == .success || error is ExitCode { exit(withError: error) }
      // Every rank of a job parses the same arguments: rank 0 speaks for the job (issue #28: one line per rank).
      if parsed || !isOtherRank {
        let line = CommandLineArguments.oneLine(message(for: error))
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
      } else {
        // mpirun ends the whole job when the first rank exits non-zero: a silent rank that exits before
        // rank 0 has printed (rank 0 may still be choosing its BLAS kernels) would swallow the job's line.
        Thread.sleep(forTimeInterval: 2)
      }
      Foundation.exit(code == .validationFailure || error is ValidationError ? 2 : 1)
    }
  }

  /// Whether this process is a rank other than 0 of an MPI job or Slurm step (from the launcher's
  /// environment; read before MPI starts).
  static var isOtherRank: Bool {
    let env = ProcessInfo.processInfo.environment
    for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
      if let v = env[key] { return v != "0" }
    }
    return false
  }
}
