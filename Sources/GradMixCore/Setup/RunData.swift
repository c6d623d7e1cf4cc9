import GradMixData
import GradMixEngine

/// A labelled image set with its task, as one rank holds it.
struct LabelledData {
  let name: String
  let set: ImageSet
  /// The classes this data knows (nil: all target classes).
  let mask: ClassMask?
}

/// Builds the data a rank needs: its own sources, and the target splits on
/// the coordinator (or on every rank when each recomputes the target gradient).
enum RunData {
  /// Configured source `i` with its class filter, label map and limit applied.
  static func source(_ i: Int, config: TrainConfig, catalog: DomainCatalog, dataSeed: UInt64, file: String)
    throws -> LabelledData
  {
    let s = config.sources[i]
    let field = "sources[\(i)]"
    let raw = try catalog.build(
      s.domain, split: s.split ?? TrainConfig.Defaults.sourceSplit, seed: Seeds.derive(dataSeed, "domain:\(s.domain)"))
    let task = TaskSpec(classes: s.classes ?? Array(0..<config.classes), labelMap: s.labelMap)
    var (set, mask) = try applyTask(raw, task, targetClassCount: config.classes, field: field)
    guard set.count > 0 else {
      throw ConfigError(file: file, field: "\(field).classes", "no image of domain '\(s.domain)' has these classes")
    }
    if let limit = s.limit, limit < set.count {
      var order = Array(0..<set.count)
      var rng = RNG(seed: Seeds.derive(dataSeed, "limit", i))
      rng.shuffle(&order)
      set = set.subset(Array(order.prefix(limit)).sorted())
    }
    let allClasses = mask.allowed.allSatisfy { $0 }
    return LabelledData(name: config.sourceName(i), set: set, mask: allClasses ? nil : mask)
  }

  /// The target's labelled, unlabelled and test splits.
  ///
  /// With `target.test_split`, the labelled and unlabelled sets come from
  /// `target.split` and the test set (a stratified draw of `target.test`) from
  /// the other split, e.g. an image folder's held-out `test` folder.
  static func target(config: TrainConfig, catalog: DomainCatalog, dataSeed: UInt64) throws -> TargetSplit {
    let t = config.target
    let seed = Seeds.derive(dataSeed, "domain:\(t.domain)")
    let raw = try catalog.build(t.domain, split: t.split ?? TrainConfig.Defaults.targetSplit, seed: seed)
    let set = try taskClasses(
      try allClasses(raw, config: config, split: t.split ?? TrainConfig.Defaults.targetSplit), config: config)
    let splitSeed = Seeds.derive(dataSeed, "target-split")
    guard let testSplit = t.testSplit else {
      return try splitTarget(
        set, classCount: config.classes, labelledPerClass: t.labelledPerClass,
        unlabelled: t.unlabelled, test: t.test, validation: t.validation, seed: splitSeed)
    }
    let heldOut = try taskClasses(
      try allClasses(try catalog.build(t.domain, split: testSplit, seed: seed), config: config, split: testSplit),
      config: config)
    return try splitTarget(
      set, heldOut: heldOut, classCount: config.classes, labelledPerClass: t.labelledPerClass,
      unlabelled: t.unlabelled, test: t.test, validation: t.validation, seed: splitSeed)
  }

  /// The images of the target task's classes (`target.classes`; all if nil).
  static func taskClasses(_ set: ImageSet, config: TrainConfig) throws -> ImageSet {
    guard let classes = config.target.classes else { return set }
    return try applyTask(set, TaskSpec(classes: classes), targetClassCount: config.classes, field: "target").set
  }

  /// The target domain with every label checked to be one of the target's classes.
  static func allClasses(_ raw: ImageSet, config: TrainConfig, split: Split) throws -> ImageSet {
    if let bad = raw.labels.firstIndex(where: { $0 < 0 || Int($0) >= config.classes }) {
      throw DataError.badConfig(
        field: "classes",
        detail:
          "target domain '\(config.target.domain)' (\(split.rawValue)) has label \(raw.labels[bad]) at sample \(bad), outside 0..<\(config.classes); raise classes to at least \(Int(raw.labels.max() ?? 0) + 1)"
      )
    }
    return raw
  }
}
