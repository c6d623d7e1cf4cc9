import GradMixEngine

/// One gradient this rank contributes to the mix: a source (or a shard of
/// one) and its flat gradient buffer (per-layer slices, ``ParameterLayout``).
/// The step hands them to the ``MixingStrategy``; `gradmix bench comm` hands
/// it synthetic ones.
public struct LocalGradient {
  /// The source's index in the job's source list (every rank agrees on it).
  public let source: Int
  public let gradient: FlatBuffer

  public init(source: Int, gradient: FlatBuffer) {
    self.source = source; self.gradient = gradient
  }
}
