import ArgumentParser

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
    version: "0.1.0",
    subcommands: [TrainCommand.self, EvalCommand.self, BenchCommand.self, DataCommand.self, InfoCommand.self, InspectCheckpointCommand.self])
}
