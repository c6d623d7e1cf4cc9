import GradMixData
import GradMixEngine

/// Selects confidently predicted unlabelled target samples as a pseudo-labelled source.
///
/// A sample is kept when its softmax confidence is at least `threshold`;
/// within each predicted class only the `perClassCap` most confident are
/// kept, so no class floods the set. The true labels of the pool are used
/// only to report the pseudo-labels' accuracy (a diagnostic), never to train.
struct PseudoLabeler {
  let threshold: Float
  let perClassCap: Int
  let classCount: Int

  struct Selection {
    /// The pool with predicted labels, restricted to the kept samples.
    let set: ImageSet
    /// Indices of the kept samples in the pool, and their pseudo-labels.
    let indices: [Int]
    let labels: [Int32]
    let perClass: [Int]
    /// Fraction of kept samples whose pseudo-label equals the hidden true label.
    let accuracy: Double
  }

  func select(pool: ImageSet, labels: [Int32], confidence: [Float]) -> Selection {
    var byClass = [[Int]](repeating: [], count: classCount)
    for i in 0..<pool.count where confidence[i] >= threshold { byClass[Int(labels[i])].append(i) }
    var kept: [Int] = []
    var perClass = [Int](repeating: 0, count: classCount)
    for c in 0..<classCount {
      let best = byClass[c].sorted { confidence[$0] > confidence[$1] || (confidence[$0] == confidence[$1] && $0 < $1) }
      let take = Array(best.prefix(perClassCap))
      perClass[c] = take.count
      kept += take
    }
    kept.sort()
    var set = pool.subset(kept)
    var correct = 0
    for (j, i) in kept.enumerated() {
      if labels[i] == pool.labels[i] { correct += 1 }
      set.labels[j] = labels[i]
    }
    return Selection(
      set: set, indices: kept, labels: set.labels, perClass: perClass,
      accuracy: kept.isEmpty ? 0 : Double(correct) / Double(kept.count))
  }

  /// A selection saved in a checkpoint, rebuilt from the pool.
  func rebuild(pool: ImageSet, indices: [Int], labels: [Int32], accuracy: Double) -> Selection {
    var set = pool.subset(indices)
    set.labels = labels
    var perClass = [Int](repeating: 0, count: classCount)
    for l in labels where Int(l) < classCount { perClass[Int(l)] += 1 }
    return Selection(set: set, indices: indices, labels: labels, perClass: perClass, accuracy: accuracy)
  }
}
