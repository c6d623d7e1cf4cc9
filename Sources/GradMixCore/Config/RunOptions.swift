/// How every rank gets the target (meta) gradient g_T each step.
public enum TargetGradientMode: String, CaseIterable, Codable, Sendable {
  /// The coordinator computes g_T and broadcasts it (one broadcast of the model size).
  case broadcast
  /// Every rank holds the labelled target set and computes the same g_T itself
  /// (one extra forward/backward per rank, no model-size broadcast).
  case recompute
}

/// How the weighted source gradients are combined across ranks.
public enum MixingProtocol: String, CaseIterable, Codable, Sendable {
  /// Each rank sums its own weighted sources; one allreduce of the flat buffer.
  case allreduce
  /// Every rank sends its full source gradients to the coordinator, which
  /// mixes them and broadcasts the mixed gradient.
  case gather
}

/// Which held-out part of the target a run evaluates on.
public enum EvalSplit: String, CaseIterable, Codable, Sendable {
  /// The test split the result tables report.
  case test
  /// The validation split (held out of the unlabelled draw, disjoint from
  /// test): what hyperparameters and rule variants are chosen on.
  case validation
}

/// Run settings that come from the command line rather than the config.
public struct RunOptions: Sendable {
  public var method: Method
  public var seed: UInt64
  public var dataSeed: UInt64
  public var steps: Int
  public var outDir: String
  public var dataRoot: String
  public var configPath: String
  public var coordinatorOwnsSources = false
  public var targetGradient: TargetGradientMode = .broadcast
  public var mixing: MixingProtocol = .allreduce
  /// Compare a checksum of the parameters across ranks every this many steps (0: never).
  public var checkEvery = 50
  /// Test aid: stop after this many steps as if the process had been killed
  /// (no final checkpoint, no summary).
  public var stopAfter: Int?
  /// Test aid (fault injection): the gradient of the named source is set to
  /// NaN in these steps, to exercise the non-finite handling.
  public var injectNaN: (source: String, steps: Range<Int>)?
  /// Write a per-step JSONL trace here (each rank of an MPI job writes
  /// `<name>.rank-<r><ext>`).
  public var tracePath: String?
  /// Count and time collectives and keep per-step timings (on by default;
  /// off only to measure the instrumentation's own overhead).
  public var instrument = true
  /// This run continues an earlier one in `outDir` (`--resume`).
  public var resuming = false
  /// The split evaluations report (summary.json names it in `eval_split`).
  public var evalSplit: EvalSplit = .test
  /// `--step-timeout`: under MPI, a rank waiting this many seconds in one
  /// collective ends the job (``StepWatchdog``); nil: wait forever.
  public var stepTimeout: Double?
  /// Print progress lines on the coordinator.
  public var progress = true
  /// The command that started the run (recorded in summary.json).
  public var commandLine = ""
  /// The `key=value` overrides given after the config (recorded in run.json).
  public var overrides: [String] = []
  /// The step-based keys scaled to `steps` (see ``TrainConfig/scaled(toSteps:)``), for the start-up table.
  public var scaledKeys: [String] = []
  /// The config text the run uses (overrides applied); written to config.yaml. Nil: the file at `configPath`.
  public var configText: String?
  /// Build, host and data provenance (coordinator); merged into run.json, summary.json and checkpoints.
  public var provenance: Provenance?

  public init(
    method: Method, seed: UInt64, dataSeed: UInt64, steps: Int, outDir: String, dataRoot: String,
    configPath: String
  ) {
    self.method = method; self.seed = seed; self.dataSeed = dataSeed; self.steps = steps
    self.outDir = outDir; self.dataRoot = dataRoot; self.configPath = configPath
  }
}
