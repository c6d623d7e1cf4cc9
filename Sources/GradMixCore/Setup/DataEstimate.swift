import Foundation
import GradMixData

/// The most memory one rank's data loading holds, summed from the headers of
/// the files it will read, before any body is read (issue #28, row 6).
///
/// The loads run in ``RunData``'s order: the target's split (and its held-out
/// test split), then each of this rank's sources. Each load's peak
/// (``DomainCatalog/footprint(_:split:)``) sits on top of what the earlier
/// loads still hold; a source's class filter and `limit` are copies of the
/// built set made while it is held, and the target's splits a copy of the
/// target. Choice: a class filter keeps its share of the domain's classes
/// (balanced classes: the labels are not read).
public struct DataEstimate: Sendable {
  /// One load: the footprint, the run's field that asks for it, and what stays held after it.
  public struct Load: Sendable {
    public let field: String
    public let domain: String
    public let split: Split
    public let footprint: DataFootprint
    public let peakBytes: Double
    public let heldBytes: Double
  }

  public let loads: [Load]

  /// The most held at once over the whole loading.
  public var peakBytes: Double { peaks.max() ?? 0 }

  /// For each load, what is held at its peak (its own peak on top of what the earlier loads hold).
  public var peaks: [Double] {
    var held = 0.0
    return loads.map { l in
      defer { held += l.heldBytes }
      return held + l.peakBytes
    }
  }

  /// The loads of rank `rank` of a run of `config` on `catalog`: the target where this rank
  /// needs it and the sources ``SourcePlacement`` gives it (as ``TrainingSetup`` places them).
  ///
  /// - Throws: the readers' header errors (the same a load would throw).
  public init(config: TrainConfig, options: RunOptions, catalog: DomainCatalog, rank: Int, worldSize: Int) throws {
    let settings = TrainingSetup.settings(config: config, options: options)
    // A placement that leaves a rank idle is the trainer's error to report; then nothing is estimated.
    guard
      let infos = try? TrainingSetup.sources(
        config: config, options: options, settings: settings, worldSize: worldSize)
    else {
      loads = []
      return
    }
    let mine = infos.filter { $0.shards.contains { $0.rank == rank } }
    var loads: [Load] = []
    let t = config.target
    if TrainingSetup.loadsTarget(rank: rank, options: options, settings: settings, mine: mine) {
      let split = t.split ?? TrainConfig.Defaults.targetSplit
      for (s, field) in [(split, "target")] + (t.testSplit.map { [($0, "target.test_split")] } ?? []) {
        let f = try catalog.footprint(t.domain, split: s)
        let kept = f.heldBytes * Self.share(t.classes, of: config.classes)
        // The class filter's copy, then the splits (at most the whole) while the domain is held.
        let filtered = t.classes == nil ? 0 : kept
        loads.append(
          Load(
            field: field, domain: t.domain, split: s, footprint: f,
            peakBytes: max(f.peakBytes, f.heldBytes + filtered + kept), heldBytes: kept))
      }
    }
    for info in mine {
      guard case .configured(let i) = info.kind else { continue }
      let s = config.sources[i]
      let split = s.split ?? TrainConfig.Defaults.sourceSplit
      let f = try catalog.footprint(s.domain, split: split)
      let filtered = f.heldBytes * Self.share(s.classes, of: config.classes)
      var limited = 0.0
      if let limit = s.limit, f.count > 0 { limited = filtered * min(1, Double(limit) / Double(f.count)) }
      loads.append(
        Load(
          field: "sources[\(i)]", domain: s.domain, split: split, footprint: f,
          peakBytes: max(f.peakBytes, f.heldBytes + filtered + limited),
          heldBytes: s.limit == nil ? filtered : limited))
    }
    self.loads = loads
  }

  /// The share of a domain's images that a class filter keeps (1 without a filter).
  static func share(_ classes: [Int]?, of count: Int) -> Double {
    guard let classes, count > 0 else { return 1 }
    return min(1, Double(Set(classes).count) / Double(count))
  }

  /// Throws if the data's peak and `model` bytes do not fit in `available`, naming the load where it stops fitting.
  ///
  /// - Throws: a ``ConfigError`` whose file is the data file or folder, one line:
  ///   `<file>: needs X MiB ... but only Y MiB are available (...)`.
  public func check(modelBytes: Double, available: AvailableMemory) throws {
    for (l, peak) in zip(loads, peaks) where modelBytes + peak > available.bytes {
      let f = l.footprint
      throw ConfigError(
        file: f.what, field: "",
        "\(l.field) (domain \(l.domain), \(l.split.rawValue), \(f.count) samples): loading the data needs "
          + "\(DataFootprint.mebibytes(peak)) at its peak (\(DataFootprint.mebibytes(l.peakBytes)) for this file, "
          + "\(DataFootprint.mebibytes(peak - l.peakBytes)) held from earlier data) and the model "
          + "\(DataFootprint.mebibytes(modelBytes)), \(DataFootprint.mebibytes(modelBytes + peak)) in all, "
          + "but only \(DataFootprint.mebibytes(available.bytes)) are available (\(available.source)); "
          + (l.field.hasPrefix("sources") ? "set \(l.field).limit, " : "")
          + "use less data or raise the memory limit; nothing was loaded")
    }
  }
}
