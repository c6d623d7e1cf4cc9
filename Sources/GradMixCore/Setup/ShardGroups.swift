/// Which split sources sum their shards' gradients inside a group of ranks
/// each step, and which shards then report to the step's collectives.
///
/// A weighting rule that reads the norms of whole source gradients
/// (``WeightingRule/needsWholeSourceNorms``: the label scores of `gated-pcgrad`
/// and `cosine`, TAWT) cannot add up per-shard
/// norms: ‖a + b‖² ≠ ‖a‖² + ‖b‖². For such a rule the ranks sharing a
/// split source form a group (one communicator per split source, made once
/// at start-up); each step the shards' gradients, each already scaled by
/// its batch fraction, are allreduced inside the group, so every member
/// holds the whole source gradient, and only the group's first rank (the
/// lowest; ``SourceInfo/owner``) reports that source's dot products and
/// norms to the statistics allreduce and its weighted gradient to the
/// model-size allreduce. The others report only their share of the loss
/// and whether it was finite, so nothing is counted twice. Rules on dot
/// products alone stay on the linear path: every shard reports its own
/// dot products and weighted gradient, and no group collective runs.
///
/// Choice: a group allreduce (one model-size collective per split source
/// and step) rather than exchanging per-shard gradients for the norms; see
/// docs/DESIGN.md, "More ranks than sources".
public struct ShardGroups: Equatable, Sendable {
  /// The sources whose shards' gradients are summed in a group, in source order.
  public let summed: [Int]
  /// `reporting[k]`: the shards of source k whose statistics and weighted
  /// gradient enter the step's collectives (all of them, or only the first
  /// of a summed source), in rank order.
  public let reporting: [[SourcePlacement.Shard]]
  let shards: [[SourcePlacement.Shard]]

  /// - Parameters:
  ///   - shards: every source's shards (``SourcePlacement/shards``).
  ///   - wholeSourceNorms: whether the rule reads whole-source norms.
  public init(shards: [[SourcePlacement.Shard]], wholeSourceNorms: Bool) {
    self.shards = shards
    summed = wholeSourceNorms ? shards.indices.filter { shards[$0].count > 1 } : []
    reporting = shards.indices.map { k in
      wholeSourceNorms && shards[k].count > 1 ? [shards[k][0]] : shards[k]
    }
  }

  /// The colour of `rank` when the ranks are split for summed source `k`:
  /// 1 for the source's ranks, 0 for the others (whose communicator is not used).
  public func color(source k: Int, rank: Int) -> Int {
    precondition(summed.contains(k), "Source \(k) is not summed in a group (summed: \(summed)).")
    return shards[k].contains { $0.rank == rank } ? 1 : 0
  }

  /// Whether `rank` reports source `k`'s statistics and weighted gradient.
  public func reports(source k: Int, rank: Int) -> Bool { reporting[k].contains { $0.rank == rank } }
}
