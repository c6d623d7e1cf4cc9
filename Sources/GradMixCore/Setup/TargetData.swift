import GradMixData
import GradMixEngine

/// The target data a rank holds: the coordinator's meta batches and
/// evaluation, and the pseudo-labelled pool where a rank computes it.
///
/// Every rank that computes the target gradient (the coordinator, or every
/// rank with `--target-gradient recompute`) or a target-derived source holds
/// the split; the others hold nothing.
final class TargetData {
  let split: TargetSplit?
  /// The meta batches (labelled target set) of the target gradient.
  let metaSampler: BatchSampler?
  var metaLabels: [Int32]
  let metaBatch: Int
  /// Coordinator only.
  let evaluator: Evaluator?
  var lastEval: (loss: Double, accuracy: Double)?
  /// Where a rank computes the pseudo-labelled source.
  let pseudoLabeler: PseudoLabeler?
  var pseudoSelection: PseudoLabeler.Selection?
  var pseudoRefreshes = 0

  init(
    split: TargetSplit?, metaSampler: BatchSampler?, metaBatch: Int, evaluator: Evaluator?,
    pseudoLabeler: PseudoLabeler?
  ) {
    self.split = split; self.metaSampler = metaSampler; self.metaBatch = metaBatch; self.evaluator = evaluator
    self.pseudoLabeler = pseudoLabeler
    metaLabels = [Int32](repeating: 0, count: metaSampler == nil ? 0 : metaBatch)
  }

  /// The pseudo-labels' count and diagnostic accuracy, once there are some.
  var lastPseudo: (count: Int, accuracy: Double)? {
    pseudoSelection.map { ($0.set.count, $0.accuracy) }
  }
}
