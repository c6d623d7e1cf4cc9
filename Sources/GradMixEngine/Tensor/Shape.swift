/// The shape of one sample flowing through a model, without the batch
/// dimension: `[C, H, W]` for images and feature maps, `[F]` for vectors.
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
  public var dims: [Int]

  public init(_ dims: [Int]) {
    precondition(
      !dims.isEmpty && dims.allSatisfy { $0 > 0 },
      "A shape needs at least one dimension and every dimension must be positive, got \(dims).")
    self.dims = dims
  }

  /// Number of elements of one sample.
  public var count: Int { dims.reduce(1, *) }
  public var rank: Int { dims.count }

  /// Channels, height and width of an image shape; traps for other ranks.
  public var chw: (c: Int, h: Int, w: Int) {
    precondition(dims.count == 3, "Expected a [C, H, W] shape, got \(self).")
    return (dims[0], dims[1], dims[2])
  }

  public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
