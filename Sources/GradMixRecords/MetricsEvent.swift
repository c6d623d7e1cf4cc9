/// An event line of metrics.jsonl (`"event": ...`), such as a pseudo-labelling round.
public struct MetricsEvent: Codable, Equatable, Sendable {
  /// The step after which the event happened (it precedes step `step + 1`).
  @Lenient public var step: Int?
  /// The kind: `pseudo_labels`.
  @Lenient public var event: String?
  /// Pseudo-labelled images kept.
  @Lenient public var count: Int?
  /// Kept images per predicted class.
  @Lenient public var perClass: [Int]?
  /// Share of kept images whose pseudo-label is right (a diagnostic: it reads hidden labels).
  @Lenient public var accuracyDiagnostic: Double?
  /// Images in the unlabelled pool.
  @Lenient public var pool: Int?

  public init(step: Int, event: String) {
    self.step = step
    self.event = event
  }

  enum CodingKeys: String, CodingKey {
    case step, event, count, pool
    case perClass = "per_class", accuracyDiagnostic = "accuracy_diagnostic"
  }
}
