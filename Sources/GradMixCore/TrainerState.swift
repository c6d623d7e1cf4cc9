import Foundation
import GradMixData
import GradMixEngine

/// Everything besides parameters and velocity that an exact resume needs,
/// stored as JSON in the checkpoint's sidecar (`extra["trainer_state"]`).
///
/// Source states are keyed by the global source index, so a run can resume
/// on a different number of ranks: each rank takes the states of the
/// sources it owns now.
struct TrainerState: Codable {
  struct Slot: Codable {
    var sampler: SamplerState?
    var dropout: RNG
  }
  struct Pseudo: Codable {
    var refreshes: Int
    var indices: [Int]
    var labels: [Int32]
    var accuracy: Double
  }
  var step: Int
  var alr: AdaptiveLearningRate
  var meta: SamplerState?
  var slots: [Int: Slot]
  var pseudo: Pseudo?
  var weightSums: [[Double]]
  var weightCounts: [Int]
  var nonFiniteSourceSteps: Int
  var skippedSteps: Int
  var lastEval: [Double]?
}

extension Trainer {
  /// This rank's part of the state (its sources; the coordinator adds the rest).
  func localSlotStates() -> [Int: TrainerState.Slot] {
    var out: [Int: TrainerState.Slot] = [:]
    for slot in slots { out[slot.index] = TrainerState.Slot(sampler: slot.sampler?.state, dropout: slot.dropout) }
    return out
  }

  /// Gathers every rank's source states on the coordinator (a collective:
  /// every rank calls it) and returns the full state there, nil elsewhere.
  func gatherState(step: Int) throws -> TrainerState? {
    let mine = try JSONEncoder().encode(localSlotStates())
    guard let all = try comm.gather(bytes: Array(mine), root: 0) else { return nil }
    var merged: [Int: TrainerState.Slot] = [:]
    for bytes in all {
      let part = try JSONDecoder().decode([Int: TrainerState.Slot].self, from: Data(bytes))
      merged.merge(part) { a, _ in a }
    }
    return TrainerState(
      step: step, alr: alr, meta: metaSampler?.state, slots: merged,
      pseudo: pseudoSelection.map { TrainerState.Pseudo(refreshes: pseudoRefreshes, indices: $0.indices, labels: $0.labels, accuracy: $0.accuracy) },
      weightSums: weightSums, weightCounts: weightCounts, nonFiniteSourceSteps: nonFiniteSourceSteps,
      skippedSteps: skippedSteps, lastEval: lastEval.map { [$0.loss, $0.accuracy] })
  }

  /// Restores parameters, velocity and state from a checkpoint (every rank).
  func restore(from checkpoint: LoadedCheckpoint, state: TrainerState) throws {
    parameters.copy(from: checkpoint.parameters)
    if let v = checkpoint.velocity { velocity.copy(from: v) }
    alr = state.alr
    if let m = state.meta, let sampler = metaSampler { try sampler.restore(m) }
    for slot in slots {
      guard let s = state.slots[slot.index] else {
        throw ConfigError(file: options.configPath, field: "", "the checkpoint has no state for source '\(slot.info.name)'")
      }
      slot.dropout = s.dropout
      if slot.info.kind == .pseudo, let p = state.pseudo, let split = targetSplit, let labeler = pseudoLabeler {
        let selection = labeler.rebuild(pool: split.unlabelled, indices: p.indices, labels: p.labels, accuracy: p.accuracy)
        pseudoSelection = selection
        pseudoRefreshes = p.refreshes
        lastPseudo = (selection.set.count, p.accuracy)
        slot.sampler = selection.set.count == 0 ? nil : BatchSampler(
          selection.set, batchSize: slot.batchSize, seed: Seeds.derive(options.seed, "pseudo", p.refreshes),
          augment: Augmentation(maxShift: config.augment?.maxShift ?? 0))
      }
      if let saved = s.sampler, let sampler = slot.sampler { try sampler.restore(saved) }
    }
    if let p = state.pseudo { pseudoRefreshes = p.refreshes }
    weightSums = state.weightSums
    weightCounts = state.weightCounts
    nonFiniteSourceSteps = state.nonFiniteSourceSteps
    skippedSteps = state.skippedSteps
    if let e = state.lastEval, e.count == 2 { lastEval = (e[0], e[1]) }
    startStep = state.step
  }
}
