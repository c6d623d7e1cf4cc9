import ArgumentParser

/// The options of a training run that `gradmix train` takes and `gradmix
/// sweep` passes on to every cell: the length of the run, the data folder and
/// the threads. One declaration, so both commands parse, document and check
/// them alike.
struct SharedRunOptions: ParsableArguments {
  @Option(help: "Number of steps (of every cell, for sweep). Default: the config's.")
  var steps: Int?

  @Option(help: "Data folder. Default: $GRADMIX_DATA, the config's data_root, else data/raw.")
  var dataRoot: String?

  @Option(
    help:
      "BLAS/engine threads per process. Default: the node's cores divided by the ranks on it (train) or by --jobs (sweep)."
  )
  var threads: Int?

  func validate() throws {
    if let steps, steps <= 0 { throw ValidationError("--steps must be positive, got \(steps)") }
    if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    if let threads, threads > Launch.maxThreads {
      throw ValidationError("--threads: at most \(Launch.maxThreads) (4 per core of this machine), got \(threads)")
    }
  }
}
