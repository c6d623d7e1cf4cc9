import GradMixDistributed
import GradMixEngine

/// The model state (BatchNorm running statistics) of a run and how a
/// multi-source step updates it.
///
/// Choice (docs/DESIGN.md, "BatchNorm running statistics in a GradMix
/// step"): every source batch is normalised by its own batch statistics
/// (train mode), but no source batch moves the running statistics by itself.
/// Each local source's forward pass updates the state as PyTorch would
/// (`running = 0.9·running + 0.1·batch`); ``collect(weight:)`` keeps that
/// change, weighted by the source's share of its batch (1, or a shard's
/// fraction), and puts the state back. After the sources, ``update(_:)``
/// sums the changes of every rank (one small allreduce) and applies their
/// weighted mean, so the running statistics move once per step, by the mean
/// over all sources of what each source batch would have done. Every rank
/// then holds the same state, and a one-process run and an MPI run with the
/// same sources agree (up to the summation order). The target meta gradient
/// and evaluation run in eval mode and read the state without changing it.
final class RunningStatistics {
  /// The state every forward pass reads, laid out by `model.stateLayout`.
  let state: FlatBuffer
  /// The state at the start of the step's source passes.
  private let snapshot: FlatBuffer
  /// Σ weight·(state after a source pass − snapshot), then Σ weight.
  private let change: FlatBuffer

  init(model: Sequential) {
    state = model.makeState()
    snapshot = FlatBuffer(count: state.count)
    change = FlatBuffer(count: state.count + 1)
    snapshot.copy(from: state)
  }

  var isEmpty: Bool { state.count == 0 }

  /// Called right after a source's training forward pass (which updated
  /// `state`): keeps its weighted change and restores the state.
  func collect(weight: Float) {
    guard !isEmpty else { return }
    let n = state.count
    for i in 0..<n {
      change.storage[i] += weight * (state.storage[i] - snapshot.storage[i])
      state.storage[i] = snapshot.storage[i]
    }
    change.storage[n] += weight
  }

  /// Sums the collected changes over all ranks and applies their weighted
  /// mean; every rank calls it once per step (it is a collective).
  func update(_ comm: Communicator) throws {
    guard !isEmpty else { return }
    try comm.allreduceSum(inPlace: change.storage)
    let n = state.count, total = change.storage[n]
    if total > 0 {
      for i in 0..<n { state.storage[i] += change.storage[i] / total }
    }
    change.zero()
    snapshot.copy(from: state)
  }

  /// Replaces the state (resume), keeping the snapshot in step.
  func restore(from other: FlatBuffer) {
    state.copy(from: other)
    snapshot.copy(from: state)
  }
}
