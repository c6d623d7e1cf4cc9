import GradMixData
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
  /// The rank that computes this source's gradient.
  public let owner: Int
}

/// A source whose gradient this rank computes: its batches, its class mask,
/// its gradient buffer and its dropout stream.
final class SourceSlot {
  let index: Int
  let info: SourceInfo
  var sampler: BatchSampler?
  let mask: ClassMask?
  let batchSize: Int
  let gradient: FlatBuffer
  var labels: [Int32]
  var dropout: RNG

  init(index: Int, info: SourceInfo, sampler: BatchSampler?, mask: ClassMask?, batchSize: Int, model: Sequential,
       seed: UInt64) {
    self.index = index; self.info = info; self.sampler = sampler; self.mask = mask; self.batchSize = batchSize
    gradient = model.makeBuffer()
    labels = [Int32](repeating: 0, count: batchSize)
    dropout = RNG(seed: Seeds.derive(seed, "dropout", index))
  }
}
