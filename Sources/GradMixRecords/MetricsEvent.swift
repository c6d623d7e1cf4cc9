/// An event line of metrics.jsonl (`"event": ...`), such as a pseudo-labelling round.
public struct MetricsEvent: Codable, Equatable, Sendable {
  /// The step after which the event happened (it precedes step `step + 1`).
  public var step: Int?
  /// The kind: `pseudo_labels`.
  public var event: String?
  /// Pseudo-labelled images kept.
  public var count: Int?
  /// Kept images per predicted class.
  public var perClass: [Int]?
  /// Share of kept images whose pseudo-label is right (a diagnostic: it reads hidden labels).
  public var accuracyDiagnostic: Double?
  /// Images in the unlabelled pool.
  public var pool: Int?

  public init(step: Int, event: String) {
    self.step = step
    self.event = event
  }

  enum CodingKeys: String, CodingKey {
    case step, event, count, pool
    case perClass = "per_class", accuracyDiagnostic = "accuracy_diagnostic"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    step = c.lenient(.step)
    event = c.lenient(.event)
    count = c.lenient(.count)
    perClass = c.lenient(.perClass)
    accuracyDiagnostic = c.lenient(.accuracyDiagnostic)
    pool = c.lenient(.pool)
  }
}
