/// Light training-time augmentation applied by ``BatchSampler``.
public struct Augmentation: Codable, Equatable, Sendable {
  /// Random translation of up to this many pixels in x and y (uniform, independent), zero fill.
  public var maxShift: Int

  public init(maxShift: Int = 0) {
    precondition(maxShift >= 0, "The maximum shift must not be negative, got \(maxShift).")
    self.maxShift = maxShift
  }

  /// No augmentation.
  public static let none = Augmentation()
}
