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
    let raw = try catalog.build(s.domain, split: s.split ?? .train, seed: Seeds.derive(dataSeed, "domain:\(s.domain)"))
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
  static func target(config: TrainConfig, catalog: DomainCatalog, dataSeed: UInt64) throws -> TargetSplit {
    let t = config.target
    let raw = try catalog.build(t.domain, split: t.split ?? .test, seed: Seeds.derive(dataSeed, "domain:\(t.domain)"))
    let (set, _) = try applyTask(raw, TaskSpec(classes: Array(0..<config.classes), labelMap: nil),
                                 targetClassCount: config.classes, field: "target")
    return try splitTarget(set, classCount: config.classes, labelledPerClass: t.labelledPerClass,
                           unlabelled: t.unlabelled, test: t.test, seed: Seeds.derive(dataSeed, "target-split"))
  }
}
