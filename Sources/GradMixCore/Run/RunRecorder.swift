import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixRecords

/// The bookkeeping of a run beside the step: per-step timings and the trace,
/// metrics records, progress lines, run.json and summary.json, and the
/// running totals they report (mean weights, non-finite and skipped steps).
///
/// Every rank keeps its own timings; only the coordinator writes files
/// (``RunLog`` is disabled elsewhere).
final class RunRecorder {
  let options: RunOptions
  let comm: Communicator
  /// The communicator the trainer uses, counting and timing every collective.
  let instruments: InstrumentedCommunicator
  let log: RunLog
  let sources: [SourceInfo]
  let layerNames: [String]
  var timeline = StepTimeline()
  var trace: FileHandle?
  /// The file `trace` writes (this rank's name for `--trace`).
  var tracePath: String?
  var weightSums: [[Double]]
  /// Steps in which each source took part (for the mean weights in summary.json).
  var weightCounts: [Int]
  /// Per source and layer: the steps after the first fifth of the run in which the
  /// source's weight in the layer was > 0, and the sum of its weights over those
  /// steps (summary.json's `layer_open_share` and `layer_mean_weight`; issue #26).
  /// Choice: a fixed fifth of the steps, not the rule's own warm-up, so every
  /// method is measured over the same steps. Counted by this process only
  /// (a resumed run counts from its resume point; `layer_steps` says how many).
  var layerOpenSteps: [[Int]]
  var layerWeightSums: [[Double]]
  /// Per source: the steps after the first fifth in which it was active (had a finite gradient).
  var layerActiveSteps: [Int]
  var layerSteps = 0
  var nonFiniteSourceSteps = 0
  var skippedSteps = 0
  /// `model.init`'s file, SHA-256 and skipped layers, for run.json (`init`); nil without it.
  var initWeights: RunInfo.InitWeights?
  /// Start-up table lines for `model.init`, `model.freeze` and `optimizer.layer_lr` (none without them).
  var transferLines: [String] = []
  /// Whether the rule reads label scores (then every metrics record carries them as `label_scores`).
  var hasLabelScores = false

  init(
    options: RunOptions, comm: Communicator, instruments: InstrumentedCommunicator, log: RunLog,
    sources: [SourceInfo], layerNames: [String]
  ) {
    self.options = options; self.comm = comm; self.instruments = instruments; self.log = log
    self.sources = sources; self.layerNames = layerNames
    weightSums = [[Double]](repeating: [Double](repeating: 0, count: layerNames.count), count: sources.count)
    weightCounts = [Int](repeating: 0, count: sources.count)
    layerOpenSteps = [[Int]](repeating: [Int](repeating: 0, count: layerNames.count), count: sources.count)
    layerWeightSums = weightSums
    layerActiveSteps = weightCounts
  }

  /// The first step (0-based) counted in `layer_open_share`: after the first fifth of the run.
  var layerShareStart: Int { options.steps / 5 }

  var isCoordinator: Bool { comm.rank == 0 }

  // MARK: - Steps

  /// Folds one step's outcome into the totals (every rank, identically).
  /// - Parameter step: the step's 0-based index.
  func count(_ r: StepResult, step: Int) {
    nonFiniteSourceSteps += r.nonFinite.count
    if r.skipped { skippedSteps += 1; return }
    for s in sources.indices where r.active[s] {
      for j in layerNames.indices { weightSums[s][j] += Double(r.weights.weights[s][j]) }
      weightCounts[s] += 1
    }
    guard step >= layerShareStart else { return }
    layerSteps += 1
    for s in sources.indices where r.active[s] {
      layerActiveSteps[s] += 1
      for j in layerNames.indices {
        let w = r.weights.weights[s][j]
        if w > 0 { layerOpenSteps[s][j] += 1 }
        layerWeightSums[s][j] += Double(w)
      }
    }
  }

  /// `layer_open_share` and `layer_mean_weight` for summary.json: per source, per
  /// layer (in `layers` order); a source absent from a step counts as weight 0.
  var layerShareRecord: (open: [String: [Double]], mean: [String: [Double]]) {
    let n = Double(max(layerSteps, 1))
    var open: [String: [Double]] = [:], mean: [String: [Double]] = [:]
    for (k, info) in sources.enumerated() {
      open[info.name] = layerOpenSteps[k].map { Double($0) / n }
      mean[info.name] = layerWeightSums[k].map { $0 / n }
    }
    return (open, mean)
  }

  /// The configured sources that were active after the first fifth of the run
  /// and got weight 0 in every layer of every such step (for the end-of-run note).
  var sourcesNeverMixed: [String] {
    sources.indices.filter { s in
      guard case .configured = sources[s].kind else { return false }
      return layerActiveSteps[s] > 0 && layerOpenSteps[s].allSatisfy { $0 == 0 }
    }.map { sources[$0].name }
  }

  /// Records one step's wall time and, when instrumented, its phases and collectives.
  func recordTiming(
    step: Int, seconds: Double, phases: [Double]?,
    collectivesBefore: [String: InstrumentedCommunicator.Totals]
  ) throws {
    guard let phases else {
      timeline.stepSeconds.append(seconds)
      return
    }
    var commSeconds = 0.0
    var ops: [String: CollectiveRecord] = [:]
    for (op, t) in instruments.totals {
      let b = collectivesBefore[op] ?? InstrumentedCommunicator.Totals()
      guard t.calls > b.calls else { continue }
      commSeconds += t.seconds - b.seconds
      ops[op] = CollectiveRecord(
        calls: t.calls - b.calls, bytesSent: t.bytesSent - b.bytesSent,
        bytesReceived: t.bytesReceived - b.bytesReceived, seconds: t.seconds - b.seconds,
        waitSeconds: t.waitSeconds - b.waitSeconds)
    }
    timeline.append(step: seconds, communication: commSeconds, phases: phases)
    if let trace {
      var line = try RecordCoding.encode(
        TraceLine(
          step: step, rank: comm.rank, seconds: seconds,
          phases: Dictionary(uniqueKeysWithValues: zip(PhaseTimers.names, phases)), collectives: ops))
      line.append(0x0A)
      try RunLog.write(line, to: trace, path: tracePath ?? "trace")
    }
  }

  /// One line of the `--trace` file: a step's seconds, per phase and per collective kind, on one rank.
  struct TraceLine: Encodable {
    let step: Int
    let rank: Int
    let seconds: Double
    let phases: [String: Double]
    let collectives: [String: CollectiveRecord]
  }

  static func collectivesRecord(_ totals: [String: InstrumentedCommunicator.Totals]) -> [String: CollectiveRecord] {
    totals.mapValues {
      CollectiveRecord(
        calls: $0.calls, bytesSent: $0.bytesSent, bytesReceived: $0.bytesReceived, seconds: $0.seconds,
        waitSeconds: $0.waitSeconds)
    }
  }

  /// Opens `--trace` (each rank of an MPI job writes its own file).
  func openTrace() throws {
    guard let path = options.tracePath else { return }
    var file = path
    if comm.worldSize > 1 {
      let url = URL(fileURLWithPath: path)
      let ext = url.pathExtension
      file = url.deletingPathExtension().path + ".rank-\(comm.rank)" + (ext.isEmpty ? "" : "." + ext)
    }
    // open(2), not FileManager.createFile: that writes atomically (a rename), which would
    // replace a device such as /dev/full (as root) or a link instead of writing through it.
    let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw ConfigError(file: file, field: "--trace", "cannot open for writing: \(String(cString: strerror(errno)))")
    }
    trace = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    tracePath = file
  }

  /// Every rank's phase totals, median step and collective bytes, gathered
  /// on the coordinator (a collective: every rank calls it).
  func gatherRankTimings(_ timers: PhaseTimers) throws -> [[String: Double]] {
    let sent = instruments.totals.values.reduce(0) { $0 + $1.bytesSent }
    let received = instruments.totals.values.reduce(0) { $0 + $1.bytesReceived }
    let mine =
      timers.values + [
        timeline.stepSeconds.isEmpty ? 0 : median(timeline.stepSeconds),
        timeline.communicationSeconds.isEmpty ? 0 : median(timeline.communicationSeconds),
        Double(sent), Double(received),
      ]
    var all = [Double](repeating: 0, count: mine.count * comm.worldSize)
    try mine.withUnsafeBufferPointer { s in try all.withUnsafeMutableBufferPointer { try comm.allgather(s, into: $0) } }
    let names = PhaseTimers.names + ["median_step", "median_collectives", "bytes_sent", "bytes_received"]
    return (0..<comm.worldSize).map { r in
      var rec: [String: Double] = ["rank": Double(r)]
      for (i, n) in names.enumerated() { rec[n] = all[r * mine.count + i] }
      return rec
    }
  }

  // MARK: - Records

  func metricsRecord(
    step: Int, result r: StepResult, evaluation: (loss: Double, accuracy: Double)?,
    pseudo: (count: Int, accuracy: Double)?
  ) -> MetricsRecord {
    var losses: [String: Double] = [:]
    var weights: [String: [Double]] = [:]
    for (s, info) in sources.enumerated() {
      if let l = r.losses[s] { losses[info.name] = l }
      weights[info.name] = r.weights.weights[s].map(Double.init)
    }
    var rec = MetricsRecord(step: step)
    rec.lr = Double(r.learningRate)
    rec.lrScale = Double(r.scale)
    rec.losses = losses
    rec.weights = weights
    rec.layers = layerNames
    rec.usefulness = r.weights.usefulness
    rec.emptyLayers = r.weights.emptyLayers
    rec.skipped = r.skipped
    rec.targetCoefficients = r.weights.targetCoefficients?.map(Double.init)
    if let st = r.statistics, st.metaCount > 0 {
      // The step's exchanged statistics, for scripts/report/weight_diagnostics.py.
      var dots: [String: [Double]] = [:], norms: [String: [Double]] = [:]
      var scores: [String: Double] = [:]
      for (s, info) in sources.enumerated() where r.active[s] {
        dots[info.name] = st.dots[s]
        norms[info.name] = st.sourceSquaredNorms[s]
        scores[info.name] = st.labelScores[s]
      }
      rec.dots = dots
      rec.sourceSquaredNorms = norms
      rec.targetSquaredNorms = st.targetSquaredNorms
      if hasLabelScores {  // the label gate's scores (LabelSignature)
        rec.labelScores = scores
      }
    }
    rec.targetMetaLoss = r.metaLoss
    if let e = evaluation {
      rec.targetAccuracy = e.accuracy
      rec.targetLoss = e.loss
      rec.evalSplit = options.evalSplit.rawValue
    }
    rec.pseudoCount = pseudo?.count
    rec.pseudoAccuracyDiagnostic = pseudo?.accuracy
    rec.provenance = options.provenance?.record
    return rec
  }

  /// The placement of every source as the records list it.
  var sourcesRecord: [SourceRecord] {
    sources.map { s in
      SourceRecord(
        name: s.name, rank: s.owner,
        shards: s.shards.count > 1
          ? s.shards.map { SourceRecord.Shard(rank: $0.rank, rows: [$0.rows.lowerBound, $0.rows.upperBound]) } : nil)
    }
  }

  func summaryRecord(
    _ s: RunOutcome, model: Sequential, timers: PhaseTimers, pseudoRefreshes: Int,
    pseudo: (count: Int, accuracy: Double)?
  ) -> RunSummary {
    var meanWeights: [String: [Double]] = [:]
    for (k, info) in sources.enumerated() {
      meanWeights[info.name] = weightSums[k].map { $0 / Double(max(weightCounts[k], 1)) }
    }
    var rec = RunSummary()
    rec.method = options.method.rawValue
    rec.seed = Int(truncatingIfNeeded: options.seed)
    rec.dataSeed = Int(truncatingIfNeeded: options.dataSeed)
    rec.steps = options.steps
    rec.targetAccuracy = s.accuracy
    rec.targetLoss = s.loss
    rec.evalSplit = options.evalSplit.rawValue
    rec.paramsL2 = s.parametersL2
    rec.wallSeconds = s.wallSeconds
    rec.worldSize = comm.worldSize
    rec.config = options.configPath
    rec.model = model.spec
    rec.parameters = model.parameterCount
    rec.layers = layerNames
    rec.sources = sourcesRecord
    rec.meanWeights = meanWeights
    rec.nonfiniteSourceSteps = nonFiniteSourceSteps
    rec.skippedSteps = skippedSteps
    rec.pseudoRefreshes = pseudoRefreshes
    rec.seconds = timers.record
    rec.command = options.commandLine
    rec.medianSeconds = timeline.medians
    rec.collectives = RunRecorder.collectivesRecord(instruments.totals)
    rec.comm = options.mixing.rawValue
    rec.targetGradient = options.targetGradient.rawValue
    rec.status = "completed"
    let share = layerShareRecord
    rec.layerOpenShare = share.open
    rec.layerMeanWeight = share.mean
    rec.layerShareFromStep = layerShareStart
    rec.layerSteps = layerSteps
    rec.pseudoCount = pseudo?.count
    rec.pseudoAccuracyDiagnostic = pseudo?.accuracy
    rec.provenance = options.provenance?.record
    return rec
  }

  func printProgress(
    step: Int, startStep: Int, result r: StepResult, evaluation: (loss: Double, accuracy: Double)?,
    elapsed: Double
  ) {
    let rate = Double(step - startStep) / max(elapsed, 1e-9)
    let eta = Double(options.steps - step) / max(rate, 1e-9)
    var parts = ["step \(step)/\(options.steps)"]
    let losses = sources.indices.compactMap { s in
      r.losses[s].map { "\(sources[s].name) \(String(format: "%.3f", $0))" }
    }
    if !losses.isEmpty { parts.append("loss " + losses.joined(separator: ", ")) }
    if let m = r.metaLoss { parts.append(String(format: "meta %.3f", m)) }
    if let e = evaluation { parts.append(String(format: "test acc %.1f%%", e.accuracy * 100)) }
    parts.append(String(format: "lr %.4g", r.learningRate))
    parts.append(String(format: "%.1f steps/s, ETA %@", rate, RunRecorder.duration(eta)))
    printLine(parts.joined(separator: " | "))
  }

  static func duration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
  }

  // MARK: - Files

  /// Prints the start-up table and writes run.json and config.yaml (coordinator).
  /// - Parameters:
  ///   - data: the data-memory line of the start-up table.
  ///   - classNames: the target's class names.
  func writeRunInfo(
    config: TrainConfig, model: Sequential, target: TargetSplit?, strategy: String, data: String,
    classNames: [String]
  ) throws {
    var lines = [
      "run:        \(options.method.rawValue)\(Self.renameNote(options.method)), seed \(options.seed), data seed \(options.dataSeed), \(options.steps) steps",
      "config:     \(options.configPath)", "output:     \(options.outDir)",
      "build:      gradmix \(Provenance.versionLine)",
      "model:      \(model.spec) on \(model.inputShape), \(model.parameterCount) parameters, layers \(model.layout.layerNames.joined(separator: " "))",
      "world:      \(comm.worldSize) rank(s), target gradient: \(options.targetGradient.rawValue), mixing: \(strategy)",
      "BLAS:       OpenBLAS core \(BLASCore.summary), \(BLAS.threads) engine thread(s) per rank",
      "conv:       \(RowGemm.summary)",
    ]
    lines += transferLines
    if !options.overrides.isEmpty { lines.append("overrides:  \(options.overrides.joined(separator: " "))") }
    if !options.scaledKeys.isEmpty {
      lines.append("scaled:     to \(options.steps) steps: \(options.scaledKeys.joined(separator: ", "))")
    }
    for (k, s) in sources.enumerated() {
      let ranks =
        s.shards.count == 1
        ? "rank \(s.owner)"
        : "ranks "
          + s.shards.map { "\($0.rank) (rows \($0.rows.lowerBound)..<\($0.rows.upperBound))" }.joined(separator: ", ")
      lines.append("source \(k):   \(s.name) on \(ranks)")
    }
    if let split = target {
      lines.append(
        "target:     \(config.target.domain): \(split.labelled.count) labelled, \(split.unlabelled.count) unlabelled, \(split.test.count) test"
      )
    }
    lines.append("data:       \(data)")
    lines.append("classes:    \(classNames.count): \(classNames.joined(separator: " "))")
    if options.progress { printLine(lines.joined(separator: "\n")) }
    if let warning = BLASCore.warning { printError(warning) }
    let fingerprint = ConfigFingerprint(config: config)
    // config.yaml first, run.json last: a folder with run.json is a complete start.
    if let text = options.configText ?? (try? String(contentsOfFile: options.configPath, encoding: .utf8)) {
      try AtomicFile.write(Data(text.utf8), to: options.outDir + "/config.yaml")
    }
    try AtomicFile.write(
      Data(try config.resolved(options: options).yaml().utf8),
      to: options.outDir + "/config.resolved.yaml")
    var run = RunInfo()
    if let p = options.provenance { run.provenance = p.record }
    run.config = options.configPath
    run.method = options.method.rawValue
    run.methodNames = Method.namesDate
    run.seed = String(options.seed)
    run.dataSeed = String(options.dataSeed)
    run.steps = options.steps
    run.dataRoot = options.dataRoot
    run.targetGradient = options.targetGradient.rawValue
    run.comm = options.mixing.rawValue
    run.coordinatorOwnsSources = options.coordinatorOwnsSources
    run.command = options.commandLine
    run.provenance.worldSize = comm.worldSize
    run.overrides = options.overrides
    run.sources = sourcesRecord
    run.sampleShape = config.sampleShape
    run.classNames = classNames
    run.initWeights = initWeights
    // What --resume checks and reuses (README, "Reliability").
    run.provenance.threads = BLAS.threads
    run.evalSplit = options.evalSplit.rawValue
    run.stepTimeout = options.stepTimeout
    run.configHash = fingerprint.hash
    run.configValues = fingerprint.values
    try log.writeJSON(run, to: "run.json")
  }

  /// Drops metrics.jsonl records written after `step` by an interrupted run. An event of step `step`
  /// (a pseudo-label round, made before step `step + 1`) came after that step's checkpoint and is
  /// made again by the resumed run, so it goes too (it was recorded twice, issue #28).
  func truncateMetrics(after step: Int) throws {
    let path = options.outDir + "/metrics.jsonl"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    let kept = text.split(separator: "\n").filter { line in
      // Both records carry `step`; only an event has `event`.
      guard let rec = RecordCoding.decode(MetricsEvent.self, from: Data(line.utf8)), let s = rec.step else {
        return false
      }
      return rec.event == nil ? s <= step : s < step
    }
    try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
    log.reopen()
  }
}

extension RunRecorder {
  /// Choice: a method whose name meant another method before the names of 2026-12-05
  /// (``Method/formerNames``) says so in the start-up table's first line, so a script written
  /// for the old names shows which rule it now runs.
  static func renameNote(_ method: Method) -> String {
    guard let former = Method.formerNames.first(where: { $0.key == method.rawValue && $0.value != method }) else {
      return ""
    }
    return " (until \(Method.namesDate) `\(former.key)` meant `\(former.value.rawValue)`)"
  }
}
