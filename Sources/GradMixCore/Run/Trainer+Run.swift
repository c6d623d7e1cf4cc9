import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixRecords

/// The outcome of a run (the coordinator's view; summary.json, ``RunSummary``, holds the same).
public struct RunOutcome: Sendable {
  /// Set when the run stopped early on SIGINT/SIGTERM (after writing a checkpoint at this step).
  public var interruptedAt: Int? = nil
  /// Set when the run diverged: the first bad step (1-based), the reason, and the newest checkpoint kept.
  public var divergedSince: Int? = nil
  public var divergence: String? = nil
  public var lastCheckpoint: String? = nil
  public let accuracy: Double
  public let loss: Double
  public let parametersL2: Double
  public let wallSeconds: Double
}

extension Trainer {
  /// Trains for `options.steps` steps, evaluating, logging and checkpointing
  /// on the coordinator, and returns the final summary.
  ///
  /// - Parameter stopRequested: polled once per step on every rank (e.g.
  ///   `StopSignal.shared.isRequested`); when it returns true on any rank,
  ///   every rank stops after that step and a checkpoint is written.
  public func run(stopRequested: () -> Bool = { false }) throws -> RunOutcome {
    let start = monotonicSeconds()
    let steps = options.steps
    let logEvery = config.logEvery ?? TrainConfig.Defaults.logEvery(steps: steps)
    let evalEvery = config.evalEvery ?? TrainConfig.Defaults.evalEvery(steps: steps)
    try checkLayout()
    try formShardGroups()
    try recorder.openTrace()  // before run.json, so a bad --trace leaves no run behind (README, "Reliability")
    if isCoordinator && startStep == 0 {
      try recorder.writeRunInfo(
        config: config, model: model, target: target.split, strategy: strategyName,
        data: dataMemoryLine(), classNames: classNames)
    }
    for t in startStep..<steps {
      comm.beginStep(t + 1)
      if let stop = options.stopAfter, t >= stop {
        return RunOutcome(
          accuracy: .nan, loss: .nan, parametersL2: .nan, wallSeconds: monotonicSeconds() - start)
      }
      if settings.pseudoLabels, let p = config.pseudoLabels, t >= p.warmup, (t - p.warmup) % p.every == 0 {
        try step.timers.time(\.pseudoLabelling) { try refreshPseudoLabels(step: t) }
      }
      let stepStart = monotonicSeconds()
      let before = step.timers, commBefore = recorder.instruments.totals
      let r = try separatingWait { try step.run(t, stopRequested: stopRequested()) }
      try recorder.recordTiming(
        step: t + 1, seconds: monotonicSeconds() - stepStart,
        phases: options.instrument ? step.timers.since(before) : nil, collectivesBefore: commBefore)
      if let verdict = divergence.observe(
        step: t + 1, losses: divergenceLosses(r),
        parametersFinite: parameters.firstNonFiniteIndex() == nil)
      {
        return try stopDiverged(verdict, step: t + 1, wallSeconds: monotonicSeconds() - start)
      }
      recorder.count(r, step: t)
      if !r.nonFinite.isEmpty && isCoordinator {
        printError(
          "warning: step \(t): non-finite gradient or loss from \(r.nonFinite.map { sources[$0].name }.joined(separator: ", ")); weight 0 this step"
        )
      }
      let done = t + 1
      if options.checkEvery > 0 && (done % options.checkEvery == 0 || done == steps) {
        try separatingWait { try checkAgreement(step: done) }
      }
      let evaluate = done % evalEvery == 0 || done == steps
      if evaluate, isCoordinator, let ev = target.evaluator, let split = target.split {
        target.lastEval = step.timers.time(\.evaluation) {
          ev.evaluate(
            options.evalSplit == .validation ? split.validation : split.test, parameters: parameters,
            state: step.model.runningStatistics.state)
        }
      }
      if isCoordinator && (done % logEvery == 0 || evaluate || t == 0) {
        try recorder.log.record(
          recorder.metricsRecord(
            step: done, result: r, evaluation: evaluate ? target.lastEval : nil,
            pseudo: target.lastPseudo))
        if options.progress {
          recorder.printProgress(
            step: done, startStep: startStep, result: r, evaluation: target.lastEval,
            elapsed: monotonicSeconds() - start)
        }
      }
      if r.stopRequested && done < steps {
        try saveCheckpoint(step: done, name: Checkpointer.stepName(done))
        if isCoordinator {
          printLine(
            "interrupted: stopped after step \(done) of \(steps) and wrote a checkpoint; continue with: gradmix train --resume \(options.outDir)"
          )
        }
        var s = RunOutcome(
          accuracy: target.lastEval?.accuracy ?? .nan, loss: target.lastEval?.loss ?? .nan,
          parametersL2: .nan, wallSeconds: monotonicSeconds() - start)
        s.interruptedAt = done
        return s
      }
      if let every = config.checkpointEvery, done % every == 0, done < steps {
        try saveCheckpoint(step: done, name: Checkpointer.stepName(done))
        if isCoordinator { checkpointer.prune() }
      }
    }
    let wall = monotonicSeconds() - start
    let l2 = BLAS.dot(UnsafeBufferPointer(parameters.storage), UnsafeBufferPointer(parameters.storage)).squareRoot()
    let summary = RunOutcome(
      accuracy: target.lastEval?.accuracy ?? .nan, loss: target.lastEval?.loss ?? .nan,
      parametersL2: l2, wallSeconds: wall)
    try saveCheckpoint(step: steps, name: "final.safetensors")
    let perRank = try recorder.gatherRankTimings(step.timers)
    if isCoordinator {
      var record = recorder.summaryRecord(
        summary, model: model, timers: step.timers, pseudoRefreshes: target.pseudoRefreshes,
        pseudo: target.lastPseudo)
      record.perRank = perRank
      try recorder.log.writeJSON(record, to: "summary.json")
      // Choice: a gate that closes a source for the whole run is a finding the user should see
      // without opening summary.json (e.g. a clean source against very few, noisy target labels);
      // not when every counted step falls in the hold, in which every source is closed.
      if let hold = step.rule.labelGateHold, recorder.layerSteps > 0, steps > hold {
        for name in recorder.sourcesNeverMixed {
          printError(
            "note: the label gate kept source '\(name)' closed in every step after step \(recorder.layerShareStart): "
              + "it added nothing to this run (its labels did not match the target's; docs/DESIGN.md, \"The default rule\")"
          )
        }
      }
    }
    return summary
  }

  /// Runs `body`, whose collectives are all timed as communication, and
  /// moves the time they spent waiting for other ranks to the waiting phase.
  func separatingWait<T>(_ body: () throws -> T) rethrows -> T {
    let before = recorder.instruments.totalWaitSeconds
    defer {
      let wait = recorder.instruments.totalWaitSeconds - before
      step.timers.communication -= wait
      step.timers.waiting += wait
    }
    return try body()
  }

  // MARK: - Pseudo-labels

  /// Labels the unlabelled pool with the current model on the coordinator
  /// (for the records and checkpoints) and where the pseudo source is
  /// computed; every rank holds the same parameters, so all select the same set.
  func refreshPseudoLabels(step t: Int) throws {
    guard let labeler = target.pseudoLabeler, let split = target.split, let ev = target.evaluator else { return }
    let (labels, confidence) = ev.predict(
      split.unlabelled, parameters: parameters, state: step.model.runningStatistics.state)
    let selection = labeler.select(pool: split.unlabelled, labels: labels, confidence: confidence)
    target.pseudoRefreshes += 1
    target.pseudoSelection = selection
    for slot in slots where slot.info.kind == .pseudo {
      slot.sampler = pseudoSampler(selection, batchSize: slot.batchSize, refreshes: target.pseudoRefreshes)
    }
    var event = MetricsEvent(step: t, event: "pseudo_labels")
    event.count = selection.set.count
    event.perClass = selection.perClass
    event.accuracyDiagnostic = selection.accuracy
    event.pool = split.unlabelled.count
    try recorder.log.record(event)
  }

  func pseudoSampler(_ selection: PseudoLabeler.Selection, batchSize: Int, refreshes: Int) -> BatchSampler? {
    selection.set.count == 0
      ? nil
      : BatchSampler(
        selection.set, batchSize: batchSize, seed: Seeds.derive(options.seed, "pseudo", refreshes),
        augment: Augmentation(maxShift: config.augment?.maxShift ?? TrainConfig.Defaults.maxShift))
  }
}

extension Trainer {
  /// "12.3 MiB on rank 0 (uint8 images [3, 28, 28])": the memory of this rank's data sets.
  func dataMemoryLine() -> String {
    var bytes = 0
    for slot in slots { if case .configured = slot.info.kind { bytes += slot.sampler?.memoryBytes ?? 0 } }
    if let s = target.split { bytes += s.labelled.memoryBytes + s.unlabelled.memoryBytes + s.test.memoryBytes }
    let kind = config.sampleShape.count == 1 ? "float32 feature vectors" : "uint8 images"
    return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
      + " on rank \(comm.rank) (\(kind) \(config.sampleShape))"
  }
}
