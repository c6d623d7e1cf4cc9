import GradMixData
import GradMixDistributed
import GradMixEngine

/// What a source is, as every rank knows it (all ranks agree on this list).
public struct SourceInfo: Equatable, Sendable {
  public enum Kind: Equatable, Sendable {
    /// Configured source i of the config.
    case configured(Int)
    /// The labelled target set taking part as a source.
    case target
    /// The confidently pseudo-labelled unlabelled target pool.
    case pseudo
  }
  public let name: String
  public let kind: Kind
  /// The ranks that compute this source's gradient and their rows of its batch.
  public let shards: [SourcePlacement.Shard]
  /// The rank of the first shard (the only one unless the batch is split).
  public var owner: Int { shards[0].rank }
}

/// A source (or a shard of one) whose gradient this rank computes: its
/// batches, its rows of each batch, its class mask, its gradient buffer and
/// its dropout stream.
final class SourceSlot {
  let index: Int
  let info: SourceInfo
  var sampler: BatchSampler?
  let mask: ClassMask?
  /// The source's whole batch size (every shard draws the whole batch).
  let batchSize: Int
  /// The rows of each batch this rank computes.
  let rows: Range<Int>
  let gradient: FlatBuffer
  var labels: [Int32]
  var dropout: RNG
  /// Whether this rank reports the source's statistics and weighted
  /// gradient (false for a shard of a source summed in a group, other than
  /// the group's first; see ``ShardGroups``).
  let reports: Bool
  /// The ranks of this source's shards, when their gradients are summed
  /// each step (``ShardGroups/summed``); set once by
  /// ``Trainer/formShardGroups()`` before the first step.
  var group: Communicator?
  /// The label signature of this step's batch (``LabelSignature``), when the rule reads them.
  var signature: LabelSignature?

  init(
    index: Int, info: SourceInfo, sampler: BatchSampler?, mask: ClassMask?, batchSize: Int, rows: Range<Int>,
    reports: Bool = true, model: Sequential, seed: UInt64
  ) {
    self.index = index; self.info = info; self.sampler = sampler; self.mask = mask; self.batchSize = batchSize
    self.rows = rows; self.reports = reports
    gradient = model.makeBuffer()
    labels = [Int32](repeating: 0, count: batchSize)
    dropout = RNG(seed: Seeds.derive(seed, "dropout", index))
  }

  /// This shard's share of the source's batch (1 when not split).
  var fraction: Double { Double(rows.count) / Double(batchSize) }

  /// The gradient as the mixing strategy takes it.
  var localGradient: LocalGradient { LocalGradient(source: index, gradient: gradient) }
}
