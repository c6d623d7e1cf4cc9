import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine

extension Trainer {
  /// Writes a checkpoint: a collective (every rank sends its sources'
  /// states), then the coordinator writes the files.
  func saveCheckpoint(step stepNumber: Int, name: String) throws {
    guard let state = try gatherState(step: stepNumber) else { return }
    try checkpointer.save(
      state, name: name, parameters: parameters, modelState: step.model.runningStatistics.state,
      velocity: step.update.velocity, optimizer: step.update.sgd,
      baseLearningRate: step.update.baseRate, schedule: step.update.schedule)
  }

  /// Gathers every rank's source states on the coordinator (a collective:
  /// every rank calls it) and returns the full state there, nil elsewhere.
  /// The shards of a source hold the same sampler state; the first is kept.
  func gatherState(step stepNumber: Int) throws -> TrainerState? {
    var local: [Int: TrainerState.Slot] = [:]
    for slot in slots { local[slot.index] = TrainerState.Slot(sampler: slot.sampler?.state, dropout: slot.dropout) }
    guard let all = try comm.gather(bytes: Array(try CheckpointJSON.encoder().encode(local)), root: 0) else {
      return nil
    }
    var merged: [Int: TrainerState.Slot] = [:]
    for bytes in all {
      let part = try CheckpointJSON.decoder().decode([Int: TrainerState.Slot].self, from: Data(bytes))
      merged.merge(part) { a, _ in a }
    }
    return TrainerState(
      step: stepNumber, alr: step.update.alr, meta: target.metaSampler?.state, slots: merged,
      pseudo: target.pseudoSelection.map {
        TrainerState.Pseudo(
          refreshes: target.pseudoRefreshes, indices: $0.indices, labels: $0.labels, accuracy: $0.accuracy)
      },
      weightSums: recorder.weightSums, weightCounts: recorder.weightCounts,
      nonFiniteSourceSteps: recorder.nonFiniteSourceSteps, skippedSteps: recorder.skippedSteps,
      lastEval: target.lastEval.map { [$0.loss, $0.accuracy] }, rule: step.rule.state,
      targetSignature: step.targetSignature?.average, divergence: divergence)
  }

  /// Continues the run in `options.outDir` from its newest valid checkpoint
  /// (every rank reads it; a corrupt newest one is skipped with a warning).
  /// Returns the step it resumes from.
  @discardableResult
  public func resumeFromNewestCheckpoint() throws -> Int {
    let (checkpoint, state, path) = try checkpointer.loadNewest { if isCoordinator { printError($0) } }
    try restore(from: checkpoint, state: state)
    if isCoordinator {
      try recorder.truncateMetrics(after: state.step)
      if options.progress {
        printLine("resuming \(options.outDir) from \(path) (step \(state.step) of \(options.steps))")
      }
    }
    return state.step
  }

  /// Restores parameters, velocity and state from a checkpoint (every rank).
  func restore(from checkpoint: LoadedCheckpoint, state: TrainerState) throws {
    parameters.copy(from: checkpoint.parameters)
    if let v = checkpoint.velocity { step.update.velocity.copy(from: v) }
    step.model.runningStatistics.restore(from: checkpoint.state)
    step.update.alr = state.alr
    if let r = state.rule { step.rule.state = r }
    if let d = state.divergence { divergence = d }
    if let t = step.targetSignature, let a = state.targetSignature, a.count == t.average.count { t.average = a }
    if let m = state.meta, let sampler = target.metaSampler { try sampler.restore(m) }
    if let p = state.pseudo {
      target.pseudoRefreshes = p.refreshes
      if let split = target.split, let labeler = target.pseudoLabeler {
        target.pseudoSelection = labeler.rebuild(
          pool: split.unlabelled, indices: p.indices, labels: p.labels,
          accuracy: p.accuracy)
      }
    }
    for slot in slots {
      guard let s = state.slots[slot.index] else {
        throw ConfigError(
          file: options.configPath, field: "", "the checkpoint has no state for source '\(slot.info.name)'")
      }
      slot.dropout = s.dropout
      if slot.info.kind == .pseudo, let p = state.pseudo, let selection = target.pseudoSelection {
        slot.sampler = pseudoSampler(selection, batchSize: slot.batchSize, refreshes: p.refreshes)
      }
      if let saved = s.sampler, let sampler = slot.sampler { try sampler.restore(saved) }
    }
    recorder.weightSums = state.weightSums
    recorder.weightCounts = state.weightCounts
    recorder.nonFiniteSourceSteps = state.nonFiniteSourceSteps
    recorder.skippedSteps = state.skippedSteps
    if let e = state.lastEval, e.count == 2 { target.lastEval = (e[0], e[1]) }
    startStep = state.step
  }
}
