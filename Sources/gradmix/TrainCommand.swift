import ArgumentParser
import Foundation
import GradMixCore
import GradMixData
import GradMixDistributed
import GradMixEngine

/// `gradmix train`: one training run (every rank of an MPI job runs it).
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train with GradMix or a baseline on the sources and target of a config.",
    discussion: """
      Run without mpirun, one process owns every source. Under mpirun, rank 0 is the \
      coordinator (target data, target gradient, evaluation, logs, checkpoints) and the sources \
      are placed over the ranks by batch size, split over several ranks when ranks outnumber them. Outputs in --out: metrics.jsonl, summary.json, run.json, \
      config.yaml, final.safetensors (+ .json) and checkpoints/.
      """)

  @Option(help: "The run's YAML config (see docs/CONFIG.md).")
  var config: String?

  @Argument(
    help: ArgumentHelp(
      "Config overrides, KEY=VALUE (e.g. optimizer.lr=0.05 sources[1].limit=500), checked like the file.",
      valueName: "key=value"))
  var overrides: [String] = []

  @Option(
    help:
      "Continue the interrupted run in this output folder from its newest valid checkpoint (its config and options are reused)."
  )
  var resume: String?

  @Option(help: .hidden)
  var stopAfter: Int?

  @Option(
    help: ArgumentHelp(
      "Test aid (fault injection): make SOURCE's gradient NaN in steps FROM..<TO, written SOURCE@FROM-TO.",
      visibility: .hidden))
  var injectNan: [String] = []

  @Option(
    help: ArgumentHelp(
      "Method: \(Method.allCases.map(\.rawValue).joined(separator: ", ")). Default: the config's, else \(TrainConfig.Defaults.method.rawValue).",
      valueName: "method"),
    transform: Method.argument)
  var method: Method?

  @Option(help: "Random seed (model init, sampling). Default: the config's, else 1.")
  var seed: UInt64?

  @Option(help: "Seed of the data (domain transforms, target split). Default: the config's data_seed, else the seed.")
  var dataSeed: UInt64?

  @OptionGroup var shared: SharedRunOptions

  @Option(help: "Output folder. Default: runs/<config name>-<method>-s<seed>.")
  var out: String?

  @Option(help: "How ranks get the target gradient: broadcast (from rank 0) or recompute (on every rank).")
  var targetGradient: TargetGradientMode = .broadcast

  @Option(
    help:
      "How weighted gradients are combined: allreduce (each rank mixes its own, one allreduce) or gather (the coordinator mixes all and broadcasts)."
  )
  var comm: MixingProtocol = .allreduce

  @Option(help: "Compare a parameter checksum across ranks every N steps (0: never).")
  var checkEvery = 50

  @Option(
    help:
      "Evaluate on the target's test split or on its validation split (held out of the unlabelled draw; for choosing hyperparameters). Default: test; --resume reuses the run's."
  )
  var evalSplit: EvalSplit?

  @Option(
    help: ArgumentHelp(
      "Under mpirun: when a rank waits SECONDS in one collective (a rank stopped or hung), end the job with exit status 4 and one line naming the step and the ranks that did not arrive. Default: wait forever. Recorded in run.json and reused by --resume.",
      valueName: "seconds"))
  var stepTimeout: Double?

  @Option(
    help:
      "Write a per-step JSONL trace (phase seconds, collectives with calls, bytes and seconds) to this file; under MPI each rank writes FILE with .rank-R before the extension."
  )
  var trace: String?

  /// Removed on 2026-12-05 (docs/EXPERIMENTS.md): kept only to name it in the error.
  @Flag(help: .hidden)
  var overlap = false

  @Flag(help: "Do not count and time collectives or keep per-step timings (to measure their overhead).")
  var noInstrumentation = false

  @Flag(help: "Let the coordinator (rank 0) also own configured sources.")
  var coordinatorOwnsSources = false

  @Flag(help: "Use MPI (also implied when started by mpirun).")
  var mpi = false

  @Flag(help: "No progress lines.")
  var quiet = false

  func validate() throws {
    guard (config == nil) != (resume == nil) else {
      throw ValidationError("give exactly one of --config FILE (a new run) or --resume DIR (continue a run)")
    }
    if resume != nil && (method != nil || seed != nil || dataSeed != nil || shared.steps != nil || out != nil) {
      throw ValidationError(
        "--resume reuses the run's method, seeds, steps and folder; drop --method/--seed/--data-seed/--steps/--out")
    }
    if resume != nil && !overrides.isEmpty {
      throw ValidationError(
        "--resume reuses the run's config (config.yaml in its folder); drop the KEY=VALUE overrides")
    }
    if let stepTimeout, !(stepTimeout > 0 && stepTimeout <= Launch.maxStepTimeout) {
      throw ValidationError(
        "--step-timeout must be a positive number of seconds, at most \(Int(Launch.maxStepTimeout)) (a week), got \(String(format: "%g", stepTimeout))"
      )
    }
    guard checkEvery >= 0 else { throw ValidationError("--check-every must not be negative, got \(checkEvery)") }
    if overlap {
      throw ValidationError(
        "--overlap was removed (it measured no saving on 2 ranks and never ran with the default method; docs/EXPERIMENTS.md); drop it"
      )
    }
    if injectNan.count > 1 { throw ValidationError("--inject-nan: give it once (got \(injectNan.count))") }
  }

  func run() throws {
    let world = try Launch.communicator(forceMPI: mpi)
    var trainer: Trainer?
    var outDir = ""
    var evalName = "test"
    var watchdogTimeout: Double?
    do {
      var options: RunOptions
      var cfg: TrainConfig
      var resumedThreads: Int?, resumedStepTimeout: Double?, resumedEvalSplit: EvalSplit?
      var resumed: ResumeInfo?
      if let resume {
        try RunDirectory.checkResumable(resume)
        let run = try ResumeInfo.read(directory: resume)
        if world.rank == 0, let note = run.renamedNote { printError("note: \(resume): \(note)") }
        cfg = try TrainConfig.load(path: resume + "/config.yaml")
        resumed = run
        if let recorded = run.threads, let threads = shared.threads, threads != recorded {
          throw ValidationError(
            "--threads: the run was started with --threads \(recorded) (it decides the arithmetic); drop --threads to reuse it"
          )
        }
        resumedThreads = run.threads
        resumedStepTimeout = run.stepTimeout
        if let recorded = run.evalSplit, let evalSplit, evalSplit != recorded {
          throw ValidationError(
            "--eval-split: the run was started with --eval-split \(recorded.rawValue) (its metrics report that split); drop --eval-split to reuse it"
          )
        }
        resumedEvalSplit = run.evalSplit
        options = RunOptions(
          method: run.method, seed: run.seed, dataSeed: run.dataSeed, steps: run.steps, outDir: resume,
          dataRoot: shared.dataRoot ?? run.dataRoot, configPath: resume + "/config.yaml")
        options.targetGradient = run.targetGradient
        options.coordinatorOwnsSources = run.coordinatorOwnsSources
        options.mixing = run.mixing
        options.resuming = true
        options.overrides = run.overrides  // already in config.yaml; listed so that they stay unscaled
      } else {
        let config = config ?? ""
        let parsed = try overrides.map(ConfigOverride.init(parsing:))
        cfg = try TrainConfig.load(path: config, overrides: parsed)
        let m = method ?? cfg.method.flatMap(Method.init(rawValue:)) ?? TrainConfig.Defaults.method
        let s = seed ?? cfg.seed ?? TrainConfig.Defaults.seed
        let name = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        options = RunOptions(
          method: m, seed: s, dataSeed: dataSeed ?? cfg.dataSeed ?? s, steps: shared.steps ?? cfg.steps,
          outDir: out
            ?? "runs/\(name == "config" ? URL(fileURLWithPath: config).deletingLastPathComponent().lastPathComponent : name)-\(m.rawValue)-s\(s)",
          dataRoot: Launch.dataRoot(option: shared.dataRoot, config: cfg.dataRoot), configPath: config)
        options.targetGradient = targetGradient
        options.coordinatorOwnsSources = coordinatorOwnsSources
        options.mixing = comm
        options.overrides = parsed.map(\.description)
        if !parsed.isEmpty {
          options.configText = try TrainConfig.applying(parsed, to: TrainConfig.readText(path: config), file: config)
        }
        if world.rank == 0 { try RunDirectory.checkNew(options.outDir) }
      }
      // Explicit overrides are never scaled: this run's, or on --resume the run's recorded ones.
      let explicit = try options.overrides.map(ConfigOverride.init(parsing:))
      let scaled = cfg.scaled(toSteps: options.steps, explicit: explicit)
      cfg = scaled.config
      options.scaledKeys = scaled.changed.map(\.description)
      if let resumed, let resume { try resumed.checkUnchanged(cfg, file: resume + "/config.yaml") }
      options.stopAfter = stopAfter
      options.tracePath = trace
      options.instrument = !noInstrumentation
      if let spec = injectNan.first {
        let parts = spec.split(separator: "@")
        let range = parts.count == 2 ? parts[1].split(separator: "-").compactMap { Int($0) } : []
        guard parts.count == 2, range.count == 2, range[0] >= 0, range[0] < range[1] else {
          throw ValidationError("--inject-nan must look like SOURCE@FROM-TO, got '\(spec)'")
        }
        let names = cfg.sources.indices.map(cfg.sourceName) + ["target", "pseudo"]
        guard names.contains(String(parts[0])) else {
          throw ValidationError(
            "--inject-nan: unknown source '\(parts[0])' (sources: \(names.joined(separator: ", ")))")
        }
        options.injectNaN = (String(parts[0]), range[0]..<range[1])
      }
      options.checkEvery = checkEvery
      options.evalSplit = evalSplit ?? resumedEvalSplit ?? .test
      // Choice: a timeout given with --resume replaces the recorded one (it does not change the arithmetic).
      options.stepTimeout = stepTimeout ?? resumedStepTimeout
      watchdogTimeout = options.stepTimeout
      options.progress = !quiet && world.rank == 0
      options.commandLine = CommandLine.arguments.joined(separator: " ")
      outDir = options.outDir
      evalName = options.evalSplit.rawValue
      Launch.setThreads(shared.threads ?? resumedThreads, comm: world)
      try MemoryEstimate.check(
        config: cfg, options: options, rank: world.rank, worldSize: world.worldSize,
        threads: BLAS.threads, file: options.configPath)
      if world.rank == 0 {
        options.provenance = Provenance.capture(
          config: cfg, dataRoot: options.dataRoot, worldSize: world.worldSize,
          threads: BLAS.threads)
        if let resumed, let resume, let files = options.provenance?.dataFiles {
          try resumed.checkData(files, root: options.dataRoot, directory: resume)
        }
      }
      let t = try Trainer(config: cfg, options: options, communicator: world)
      if resume != nil { try t.resumeFromNewestCheckpoint() }
      trainer = t
      Launch.agreeToStart(nil, comm: world)
    } catch {
      // A data error about a field an override set (target.test=100000) names the command line.
      Launch.agreeToStart(
        ConfigOverride.attributing(
          ConfigError.naming(resume.map { $0 + "/config.yaml" } ?? config ?? "config", in: error),
          to: resume == nil ? ((try? overrides.map(ConfigOverride.init(parsing:))) ?? []) : []),
        comm: world)
    }
    do {
      guard let trainer else { return }
      // After the start-up agreement: data loading (uneven across ranks) is not judged.
      if let watchdogTimeout, let mpi = world as? MPICommunicator { try mpi.startWatchdog(timeout: watchdogTimeout) }
      StopSignal.shared.install()
      let summary = try trainer.run(stopRequested: { StopSignal.shared.isRequested })
      if summary.interruptedAt != nil {
        Launch.finish(world)
        Foundation.exit(Launch.interruptedStatus)
      }
      if let since = summary.divergedSince {
        // Every rank reaches this at the same step; rank 0 speaks for the job.
        if world.rank == 0 {
          printError(
            "error: \(outDir): the run diverged since step \(since) (\(summary.divergence ?? "")); summary.json has \"status\": \"diverged\"; "
              + (summary.lastCheckpoint.map { "the last finite checkpoint is \(outDir)/\($0)" }
                ?? "no checkpoint was written before it"))
        }
        Launch.finish(world)
        Foundation.exit(Launch.divergedStatus)
      }
      if world.rank == 0 {
        printLine(
          String(
            format: "done: target %@ accuracy %.2f%%, loss %.4f, params_l2 %.4f, %.1f s -> %@",
            evalName, summary.accuracy * 100, summary.loss, summary.parametersL2, summary.wallSeconds,
            outDir))
      }
      Launch.finish(world)
    } catch {
      Launch.fail(error, comm: world)
    }
  }
}
