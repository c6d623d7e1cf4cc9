import ArgumentParser
import Foundation
import GradMixCore

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
    subcommands: [TrainCommand.self, EvalCommand.self, SweepCommand.self, TableCommand.self, ReportCommand.self,
                  ExportCommand.self, BenchCommand.self, DataCommand.self, InfoCommand.self, InspectCheckpointCommand.self])

  /// Runs the command; usage and input errors exit with status 2 (as other
  /// Unix tools do), after one `error:` line and the usage; other failures with 1.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        let message = fullMessage(for: error)
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
  }
}
