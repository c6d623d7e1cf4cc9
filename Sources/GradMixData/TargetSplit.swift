import GradMixEngine

/// The target domain split three ways, sharing no image.
public struct TargetSplit: Sendable {
  /// Exactly `labelledPerClass` images of every class present.
  public let labelled: ImageSet
  /// Images whose labels the method may not use.
  public let unlabelled: ImageSet
  /// Held-out images for evaluation.
  public let test: ImageSet
  /// Held-out images for choosing hyperparameters (never the `test` images).
  public let validation: ImageSet
  /// The indices into the input set of each part (sorted, pairwise disjoint).
  public let labelledIndices: [Int]
  public let unlabelledIndices: [Int]
  public let testIndices: [Int]
  public let validationIndices: [Int]
}

/// Splits a target set into labelled, unlabelled and test parts, reproducibly from a seed.
///
/// Each class's images are shuffled with an RNG derived from `seed`. The first
/// `labelledPerClass` of every class present go to `labelled`. The test set is
/// then drawn stratified: each class gives a share of `test` proportional to
/// what it has left (largest remainders break ties, lower class first). The
/// `unlabelled` pool is a uniform draw from everything left after that, and
/// the `validation` set the next `validation` images of the same draw (so
/// asking for a validation set changes none of the other parts). Each
/// part is returned in the input's order. Classes with no image at all are skipped
/// (a target task may use only some classes).
///
/// - Parameters:
///   - set: the target domain (labels in `0..<classCount`).
///   - classCount: the number of classes.
///   - labelledPerClass: labelled images per class (0 allowed).
///   - unlabelled: size of the unlabelled pool.
///   - test: size of the test set.
///   - validation: size of the validation set (at most what is left; nil:
///     min(1000, what is left)).
///   - seed: the split's seed.
/// - Throws: ``DataError/notEnoughSamples(what:needed:available:)`` if a present class has
///   fewer than `labelledPerClass` images or fewer than `unlabelled + test` (+ `validation`) remain.
public func splitTarget(
  _ set: ImageSet, classCount: Int, labelledPerClass: Int, unlabelled: Int, test: Int, validation: Int? = nil,
  seed: UInt64
) throws -> TargetSplit {
  precondition(
    classCount > 0 && labelledPerClass >= 0 && unlabelled >= 0 && test >= 0 && (validation ?? 0) >= 0,
    "splitTarget needs a positive class count and non-negative sizes, got \(classCount), \(labelledPerClass), \(unlabelled), \(test)."
  )
  var rng = RNG(seed: SeedMix.combine(seed, SeedMix.hash("splitTarget")))
  var byClass = set.indicesByClass(classCount: classCount)
  precondition(byClass.reduce(0) { $0 + $1.count } == set.count, "Every label must be in 0..<\(classCount).")
  var labelled = [Int]()
  for c in 0..<classCount where !byClass[c].isEmpty {
    guard byClass[c].count >= labelledPerClass else {
      throw DataError.notEnoughSamples(
        what: "target split: \(labelledPerClass) labelled images of class \(c)",
        needed: labelledPerClass, available: byClass[c].count)
    }
    rng.shuffle(&byClass[c])
    labelled += byClass[c].prefix(labelledPerClass)
    byClass[c].removeFirst(labelledPerClass)
  }
  let left = byClass.reduce(0) { $0 + $1.count }
  guard left >= unlabelled + test else {
    throw DataError.notEnoughSamples(
      what: "target split: \(unlabelled) unlabelled + \(test) test images after \(labelledPerClass) labelled per class",
      needed: unlabelled + test, available: left)
  }
  // Stratified test: floor of the proportional share, then the largest remainders.
  var share = byClass.map { left == 0 ? 0 : $0.count * test / left }
  let order = (0..<classCount).sorted {
    let r0 = byClass[$0].count * test % max(left, 1), r1 = byClass[$1].count * test % max(left, 1)
    return r0 != r1 ? r0 > r1 : $0 < $1
  }
  var missing = test - share.reduce(0, +)
  for c in order where missing > 0 && share[c] < byClass[c].count {
    share[c] += 1
    missing -= 1
  }
  var testIdx = [Int]()
  var pool = [Int]()
  for c in 0..<classCount {
    testIdx += byClass[c].prefix(share[c])
    pool += byClass[c].dropFirst(share[c])
  }
  pool.sort()
  rng.shuffle(&pool)
  let unlabelledIdx = Array(pool.prefix(unlabelled)).sorted()
  let rest = pool.count - min(unlabelled, pool.count)
  if let v = validation, v > rest {
    throw DataError.notEnoughSamples(
      what: "target split: \(v) validation images after \(unlabelled) unlabelled and \(test) test",
      needed: v, available: rest)
  }
  let validationIdx = Array(pool.dropFirst(unlabelled).prefix(validation ?? min(1000, rest))).sorted()
  labelled.sort()
  testIdx.sort()
  return TargetSplit(
    labelled: set.subset(labelled), unlabelled: set.subset(unlabelledIdx), test: set.subset(testIdx),
    validation: set.subset(validationIdx), labelledIndices: labelled, unlabelledIndices: unlabelledIdx,
    testIndices: testIdx, validationIndices: validationIdx)
}

/// Splits a target set into labelled and unlabelled parts and draws the test
/// set from a separate held-out set (another split of the same domain).
///
/// The labelled and unlabelled parts are exactly those of
/// ``splitTarget(_:classCount:labelledPerClass:unlabelled:test:seed:)`` with
/// no test set (so the validation set is drawn from `set`, never from
/// `heldOut`); the test set is its stratified draw of `test` images from
/// `heldOut`. `testIndices` index into `heldOut`.
///
/// - Throws: ``DataError/notEnoughSamples(what:needed:available:)`` as the other
///   split, or if `heldOut` has fewer than `test` images.
public func splitTarget(
  _ set: ImageSet, heldOut: ImageSet, classCount: Int, labelledPerClass: Int, unlabelled: Int, test: Int,
  validation: Int? = nil, seed: UInt64
) throws -> TargetSplit {
  let train = try splitTarget(
    set, classCount: classCount, labelledPerClass: labelledPerClass, unlabelled: unlabelled, test: 0,
    validation: validation, seed: seed)
  guard heldOut.count >= test else {
    throw DataError.notEnoughSamples(
      what: "target test split: \(test) test images", needed: test, available: heldOut.count)
  }
  let held = try splitTarget(
    heldOut, classCount: classCount, labelledPerClass: 0, unlabelled: 0, test: test,
    seed: SeedMix.combine(seed, SeedMix.hash("held-out")))
  return TargetSplit(
    labelled: train.labelled, unlabelled: train.unlabelled, test: held.test, validation: train.validation,
    labelledIndices: train.labelledIndices, unlabelledIndices: train.unlabelledIndices, testIndices: held.testIndices,
    validationIndices: train.validationIndices)
}
