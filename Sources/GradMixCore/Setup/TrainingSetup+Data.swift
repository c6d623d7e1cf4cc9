import Foundation
import GradMixData
import GradMixEngine

extension TrainingSetup {
  /// The target data where this rank needs it: the split where it computes
  /// g_T or a target-derived source; the meta batches where it computes g_T;
  /// the evaluator and pseudo-labeler on the coordinator and where the pseudo
  /// source is computed. Also returns the domain catalog (for the sources)
  /// and the target's class names.
  static func targetData(
    config: TrainConfig, options: RunOptions, settings: Method.Settings, network: Sequential,
    sources: [SourceInfo], rank: Int
  ) throws -> (target: TargetData, catalog: DomainCatalog, classNames: [String]) {
    let mine = sources.indices.filter { k in sources[k].shards.contains { $0.rank == rank } }
    let computesTarget = rank == 0 || recomputesTarget(options, settings)
    let needsSplit = loadsTarget(rank: rank, options: options, settings: settings, mine: mine.map { sources[$0] })
    let catalog = try DomainCatalog(dataRoot: options.dataRoot, custom: config.domains, sampleShape: config.sampleShape)
    guard catalog.sampleShape == network.inputShape.dims else {  // the batch buffers are sized by the model's input
      throw DataError.shapeMismatch(what: "model.input", data: "\(catalog.sampleShape)", model: network.inputShape.dims)
    }
    let classNames = try catalog.classNames(of: config.target.domain) ?? (0..<config.classes).map(String.init)
    let split = needsSplit ? try RunData.target(config: config, catalog: catalog, dataSeed: options.dataSeed) : nil
    if let split {
      try InputShapeCheck.check(
        split.test, input: network.inputShape.dims, what: "the target", file: options.configPath)
    }
    let ownsPseudo = mine.contains { sources[$0].kind == .pseudo }
    let metaBatch = metaBatch(config: config)
    let target = TargetData(
      split: split,
      metaSampler: computesTarget
        ? split.map { BatchSampler($0.labelled, batchSize: metaBatch, seed: Seeds.derive(options.seed, "meta")) } : nil,
      metaBatch: metaBatch, evaluator: rank == 0 || ownsPseudo ? Evaluator(model: network) : nil,
      pseudoLabeler: (rank == 0 || ownsPseudo) && settings.pseudoLabels
        ? config.pseudoLabels.map {
          PseudoLabeler(threshold: $0.threshold, perClassCap: $0.perClassCap, classCount: config.classes)
        } : nil)
    return (target, catalog, classNames)
  }

  /// This rank's sources (or shards), in source order, each with its
  /// batches, class mask and gradient buffer.
  static func slots(
    config: TrainConfig, options: RunOptions, network: Sequential, sources: [SourceInfo], groups: ShardGroups,
    catalog: DomainCatalog, target: TargetData, targetSignature: LabelSignature?, rank: Int
  ) throws -> [SourceSlot] {
    let augment = Augmentation(maxShift: config.augment?.maxShift ?? TrainConfig.Defaults.maxShift)
    var slots: [SourceSlot] = []
    for (k, info) in sources.enumerated() {
      guard let shard = info.shards.first(where: { $0.rank == rank }) else { continue }
      let b = batchSize(info.kind, config: config)
      let sampler: BatchSampler?
      var mask: ClassMask? = nil
      switch info.kind {
      case .configured(let i):
        let data = try RunData.source(
          i, config: config, catalog: catalog, dataSeed: options.dataSeed, file: options.configPath)
        try InputShapeCheck.check(
          data.set, input: network.inputShape.dims, what: "source \(info.name)", file: options.configPath)
        sampler = BatchSampler(data.set, batchSize: b, seed: Seeds.derive(options.seed, "source", k), augment: augment)
        mask = data.mask
      case .target:
        guard let split = target.split else {
          preconditionFailure("A rank with the target source holds the target data.")
        }
        sampler = BatchSampler(
          split.labelled, batchSize: b, seed: Seeds.derive(options.seed, "target-source"),
          augment: augment)
      case .pseudo:
        sampler = nil  // until the first pseudo-labelling
      }
      let slot = SourceSlot(
        index: k, info: info, sampler: sampler, mask: mask, batchSize: b, rows: shard.rows,
        reports: groups.reports(source: k, rank: rank), model: network, seed: options.seed)
      slot.signature = targetSignature.map { LabelSignature(classes: $0.classes, features: $0.features) }
      slots.append(slot)
    }
    return slots
  }
}
