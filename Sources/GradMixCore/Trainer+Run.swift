import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

/// The outcome of a run (the coordinator's view; summary.json holds the same).
public struct RunSummary: Sendable {
  /// Set when the run stopped early on SIGINT/SIGTERM (after writing a checkpoint at this step).
  public var interruptedAt: Int? = nil
  public let testAccuracy: Double
  public let testLoss: Double
  public let parametersL2: Double
  public let wallSeconds: Double
}

extension Trainer {
  /// Trains for `options.steps` steps, evaluating, logging and checkpointing
  /// on the coordinator, and returns the final summary.
  public func run() throws -> RunSummary {
    let start = monotonicSeconds()
    let steps = options.steps
    let logEvery = config.logEvery ?? max(1, steps / 50)
    let evalEvery = config.evalEvery ?? max(1, steps / 10)
    try checkLayout()
    if isCoordinator && startStep == 0 { try writeRunInfo() }
    try openTrace()
    for t in startStep..<steps {
      if let stop = options.stopAfter, t >= stop {
        return RunSummary(testAccuracy: .nan, testLoss: .nan, parametersL2: .nan, wallSeconds: monotonicSeconds() - start)
      }
      if settings.pseudoLabels, let p = config.pseudoLabels, t >= p.warmup, (t - p.warmup) % p.every == 0 {
        timers.time(\.pseudoLabelling) { refreshPseudoLabels(step: t) }
      }
      let stepStart = monotonicSeconds()
      let r: StepResult
      if options.instrument {
        let before = timers, commBefore = instruments.totals
        r = try step(t)
        recordStep(t + 1, seconds: monotonicSeconds() - stepStart, phasesBefore: before, collectivesBefore: commBefore)
      } else {
        r = try step(t)
        timeline.stepSeconds.append(monotonicSeconds() - stepStart)
      }
      if r.skipped { skippedSteps += 1 }
      if !r.nonFinite.isEmpty {
        nonFiniteSourceSteps += r.nonFinite.count
        if isCoordinator {
          printError("warning: step \(t): non-finite gradient or loss from \(r.nonFinite.map { sources[$0].name }.joined(separator: ", ")); weight 0 this step")
        }
      }
      let done = t + 1
      if options.checkEvery > 0 && (done % options.checkEvery == 0 || done == steps) { try checkAgreement(step: done) }
      let evaluate = done % evalEvery == 0 || done == steps
      if evaluate, isCoordinator, let ev = evaluator, let split = targetSplit {
        lastEval = timers.time(\.evaluation) { ev.evaluate(split.test, parameters: parameters) }
      }
      if isCoordinator && (done % logEvery == 0 || evaluate || t == 0) {
        log.record(metricsRecord(step: done, result: r, evaluated: evaluate))
        if options.progress { printProgress(step: done, result: r, elapsed: monotonicSeconds() - start) }
      }
      if r.stopRequested && done < steps {
        try saveCheckpoint(step: done, name: String(format: "checkpoints/step-%06d.safetensors", done))
        if isCoordinator {
          printLine("interrupted: stopped after step \(done) of \(steps) and wrote a checkpoint; continue with: gradmix train --resume \(options.outDir)")
        }
        var s = RunSummary(testAccuracy: lastEval?.accuracy ?? .nan, testLoss: lastEval?.loss ?? .nan, parametersL2: .nan,
                           wallSeconds: monotonicSeconds() - start)
        s.interruptedAt = done
        return s
      }
      if let every = config.checkpointEvery, done % every == 0, done < steps {
        try saveCheckpoint(step: done, name: String(format: "checkpoints/step-%06d.safetensors", done))
        if isCoordinator { pruneCheckpoints(keep: config.keepCheckpoints ?? 3) }
      }
    }
    let wall = monotonicSeconds() - start
    let l2 = BLAS.dot(UnsafeBufferPointer(parameters.storage), UnsafeBufferPointer(parameters.storage)).squareRoot()
    let summary = RunSummary(testAccuracy: lastEval?.accuracy ?? .nan, testLoss: lastEval?.loss ?? .nan,
                             parametersL2: l2, wallSeconds: wall)
    try saveCheckpoint(step: steps, name: "final.safetensors")
    let perRank = try gatherRankTimings()
    if isCoordinator {
      var record = summaryRecord(summary)
      record["per_rank"] = perRank
      try log.writeJSON(record, to: "summary.json")
    }
    return summary
  }

  // MARK: - Timing

  func recordStep(_ step: Int, seconds: Double, phasesBefore: PhaseTimers,
                  collectivesBefore: [String: InstrumentedCommunicator.Totals]) {
    let phases = timers.since(phasesBefore)
    var commSeconds = 0.0
    var ops: [String: Any] = [:]
    for (op, t) in instruments.totals {
      let b = collectivesBefore[op] ?? InstrumentedCommunicator.Totals()
      guard t.calls > b.calls else { continue }
      commSeconds += t.seconds - b.seconds
      ops[op] = ["calls": t.calls - b.calls, "bytes_sent": t.bytesSent - b.bytesSent,
                 "bytes_received": t.bytesReceived - b.bytesReceived, "seconds": t.seconds - b.seconds] as [String: Any]
    }
    timeline.append(step: seconds, communication: commSeconds, phases: phases)
    if let trace {
      var line = RunLog.encode([
        "step": step, "rank": comm.rank, "seconds": seconds,
        "phases": Dictionary(uniqueKeysWithValues: zip(PhaseTimers.names, phases)), "collectives": ops,
      ])
      line.append(0x0A)
      trace.write(line)
    }
  }

  static func collectivesRecord(_ totals: [String: InstrumentedCommunicator.Totals]) -> [String: Any] {
    totals.mapValues { ["calls": $0.calls, "bytes_sent": $0.bytesSent, "bytes_received": $0.bytesReceived,
                        "seconds": $0.seconds] as [String: Any] }
  }

  func openTrace() throws {
    guard let path = options.tracePath else { return }
    var file = path
    if comm.worldSize > 1 {
      let url = URL(fileURLWithPath: path)
      let ext = url.pathExtension
      file = url.deletingPathExtension().path + ".rank-\(comm.rank)" + (ext.isEmpty ? "" : "." + ext)
    }
    FileManager.default.createFile(atPath: file, contents: nil)
    guard let h = FileHandle(forWritingAtPath: file) else {
      throw ConfigError(file: file, field: "--trace", "cannot open for writing")
    }
    trace = h
  }

  /// Every rank's phase totals, median step and collective bytes, gathered on the coordinator.
  func gatherRankTimings() throws -> [[String: Any]] {
    let sent = instruments.totals.values.reduce(0) { $0 + $1.bytesSent }
    let received = instruments.totals.values.reduce(0) { $0 + $1.bytesReceived }
    let mine = timers.values + [timeline.stepSeconds.isEmpty ? 0 : median(timeline.stepSeconds),
                                timeline.communicationSeconds.isEmpty ? 0 : median(timeline.communicationSeconds),
                                Double(sent), Double(received)]
    var all = [Double](repeating: 0, count: mine.count * comm.worldSize)
    try mine.withUnsafeBufferPointer { s in try all.withUnsafeMutableBufferPointer { try comm.allgather(s, into: $0) } }
    let names = PhaseTimers.names + ["median_step", "median_collectives", "bytes_sent", "bytes_received"]
    return (0..<comm.worldSize).map { r in
      var rec: [String: Any] = ["rank": r]
      for (i, n) in names.enumerated() { rec[n] = all[r * mine.count + i] }
      return rec
    }
  }

  // MARK: - Pseudo-labels

  func refreshPseudoLabels(step t: Int) {
    guard let labeler = pseudoLabeler, let split = targetSplit, let ev = evaluator,
          let slot = slots.first(where: { $0.info.kind == .pseudo }) else { return }
    let (labels, confidence) = ev.predict(split.unlabelled, parameters: parameters)
    let selection = labeler.select(pool: split.unlabelled, labels: labels, confidence: confidence)
    pseudoRefreshes += 1
    lastPseudo = (selection.set.count, selection.accuracy)
    pseudoSelection = selection
    slot.sampler = selection.set.count == 0 ? nil : BatchSampler(
      selection.set, batchSize: slot.batchSize, seed: Seeds.derive(options.seed, "pseudo", pseudoRefreshes),
      augment: Augmentation(maxShift: config.augment?.maxShift ?? 0))
    log.record([
      "step": t, "event": "pseudo_labels", "count": selection.set.count, "per_class": selection.perClass,
      "accuracy_diagnostic": selection.accuracy, "pool": split.unlabelled.count,
    ])
  }

  // MARK: - Records

  func metricsRecord(step: Int, result r: StepResult, evaluated: Bool) -> [String: Any] {
    var losses: [String: Any] = [:]
    var weights: [String: Any] = [:]
    for (s, info) in sources.enumerated() {
      if let l = r.losses[s] { losses[info.name] = l }
      weights[info.name] = r.weights.weights[s].map(Double.init)
    }
    var rec: [String: Any] = [
      "step": step, "lr": Double(r.learningRate), "lr_scale": Double(r.scale), "losses": losses,
      "weights": weights, "layers": model.layout.layerNames, "usefulness": r.weights.usefulness,
      "empty_layers": r.weights.emptyLayers, "skipped": r.skipped,
    ]
    if let m = r.metaLoss { rec["target_meta_loss"] = m }
    if evaluated, let e = lastEval { rec["target_test_accuracy"] = e.accuracy; rec["target_test_loss"] = e.loss }
    if let p = lastPseudo { rec["pseudo_count"] = p.count; rec["pseudo_accuracy_diagnostic"] = p.accuracy }
    return rec
  }

  func summaryRecord(_ s: RunSummary) -> [String: Any] {
    var meanWeights: [String: Any] = [:]
    for (k, info) in sources.enumerated() {
      meanWeights[info.name] = weightSums[k].map { $0 / Double(max(weightCounts[k], 1)) }
    }
    var rec: [String: Any] = [
      "method": options.method.rawValue, "seed": Int(truncatingIfNeeded: options.seed),
      "data_seed": Int(truncatingIfNeeded: options.dataSeed), "steps": options.steps,
      "target_test_accuracy": s.testAccuracy, "target_test_loss": s.testLoss, "params_l2": s.parametersL2,
      "wall_seconds": s.wallSeconds, "world_size": comm.worldSize, "config": options.configPath,
      "model": model.spec, "parameters": model.parameterCount, "layers": model.layout.layerNames,
      "sources": sources.map { ["name": $0.name, "rank": $0.owner] as [String: Any] },
      "mean_weights": meanWeights, "nonfinite_source_steps": nonFiniteSourceSteps, "skipped_steps": skippedSteps,
      "pseudo_refreshes": pseudoRefreshes, "seconds": timers.record, "command": options.commandLine,
      "median_seconds": timeline.medians, "collectives": Trainer.collectivesRecord(instruments.totals),
      "comm": options.mixing.rawValue,
      "target_gradient": options.targetGradient.rawValue,
    ]
    if let p = lastPseudo { rec["pseudo_count"] = p.count; rec["pseudo_accuracy_diagnostic"] = p.accuracy }
    return rec
  }

  func printProgress(step: Int, result r: StepResult, elapsed: Double) {
    let rate = Double(step - startStep) / max(elapsed, 1e-9)
    let eta = Double(options.steps - step) / max(rate, 1e-9)
    var parts = ["step \(step)/\(options.steps)"]
    let losses = sources.indices.compactMap { s in r.losses[s].map { "\(sources[s].name) \(String(format: "%.3f", $0))" } }
    if !losses.isEmpty { parts.append("loss " + losses.joined(separator: ", ")) }
    if let m = r.metaLoss { parts.append(String(format: "meta %.3f", m)) }
    if let e = lastEval { parts.append(String(format: "test acc %.1f%%", e.accuracy * 100)) }
    parts.append(String(format: "lr %.4g", r.learningRate))
    parts.append(String(format: "%.1f steps/s, ETA %@", rate, Trainer.duration(eta)))
    printLine(parts.joined(separator: " | "))
  }

  static func duration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
  }

  // MARK: - Files

  func writeRunInfo() throws {
    var lines = [
      "run:        \(options.method.rawValue), seed \(options.seed), data seed \(options.dataSeed), \(options.steps) steps",
      "config:     \(options.configPath)", "output:     \(options.outDir)",
      "commit:     \(Trainer.gitCommit())",
      "model:      \(model.spec) on \(model.inputShape), \(model.parameterCount) parameters, layers \(model.layout.layerNames.joined(separator: " "))",
      "world:      \(comm.worldSize) rank(s), target gradient: \(options.targetGradient.rawValue), BLAS threads \(BLAS.threads)",
    ]
    for (k, s) in sources.enumerated() { lines.append("source \(k):   \(s.name) on rank \(s.owner)") }
    if let split = targetSplit {
      lines.append("target:     \(config.target.domain): \(split.labelled.count) labelled, \(split.unlabelled.count) unlabelled, \(split.test.count) test")
    }
    if options.progress { printLine(lines.joined(separator: "\n")) }
    try log.writeJSON(["config": options.configPath, "method": options.method.rawValue,
                       "seed": String(options.seed), "data_seed": String(options.dataSeed), "steps": options.steps,
                       "data_root": options.dataRoot, "target_gradient": options.targetGradient.rawValue,
                       "comm": options.mixing.rawValue, "coordinator_owns_sources": options.coordinatorOwnsSources,
                       "commit": Trainer.gitCommit(), "command": options.commandLine, "world_size": comm.worldSize,
                       "sources": sources.map { ["name": $0.name, "rank": $0.owner] as [String: Any] }], to: "run.json")
    if let text = try? String(contentsOfFile: options.configPath, encoding: .utf8) {
      try AtomicFile.write(Data(text.utf8), to: options.outDir + "/config.yaml")
    }
  }

  /// Writes a checkpoint: a collective (every rank sends its sources'
  /// states), then the coordinator writes the files.
  func saveCheckpoint(step: Int, name: String) throws {
    guard let state = try gatherState(step: step) else { return }
    let stateJSON = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
    let meta = CheckpointMetadata(
      model: model, step: step, optimizer: sgd, baseLearningRate: config.optimizer.lr, schedule: schedule,
      extra: ["method": options.method.rawValue, "seed": String(options.seed), "data_seed": String(options.dataSeed),
              "config": options.configPath, "trainer_state": stateJSON])
    try Checkpoint.save(to: options.outDir + "/" + name, model: model, parameters: parameters, velocity: velocity,
                        metadata: meta)
  }

  func pruneCheckpoints(keep: Int) {
    let dir = options.outDir + "/checkpoints"
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
    let steps = files.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
    for f in steps.dropLast(keep) {
      try? FileManager.default.removeItem(atPath: dir + "/" + f)
      try? FileManager.default.removeItem(atPath: dir + "/" + Checkpoint.sidecarPath(for: f))
    }
  }

  /// The git commit of the working directory, if it is a checkout.
  static func gitCommit() -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "--short", "HEAD"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return "unknown" }
    p.waitUntilExit()
    let s = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return p.terminationStatus == 0 && !s.isEmpty ? s : "unknown"
  }
}
