import GradMixEngine

/// Everything needed to resume a ``BatchSampler`` exactly where it was.
public struct SamplerState: Codable, Equatable, Sendable {
  /// The epoch being read (0-based); its order is derived from the seed and the epoch.
  public var epoch: Int
  /// The next position in the epoch's order.
  public var position: Int
  /// The augmentation RNG.
  public var rng: RNG
  /// The sampler's seed, image count and batch size, checked on restore.
  public var seed: UInt64
  public var count: Int
  public var batchSize: Int
}
