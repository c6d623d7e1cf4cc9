/// One step line of metrics.jsonl: the step's learning rate, each source's loss
/// and per-layer weight, and, at an evaluation, the evaluated split's accuracy.
///
/// Maps are keyed by source name; per-layer lists follow `layers`. Written by
/// GradMixCore's `RunRecorder`, read by GradMixReports and the scripts under
/// scripts/report/ (the JSON keys are snake case: `lr_scale`, `target_accuracy`).
public struct MetricsRecord: Codable, Equatable, Sendable {
  /// 1-based: the record is made after step `step`.
  @Lenient public var step: Int?
  @Lenient public var lr: Double?
  /// The adaptive learning-rate scale (1 for methods without one).
  @Lenient public var lrScale: Double?
  /// Source name → its loss this step (NaN: non-finite); a source absent this step is left out.
  @Lenient public var losses: [String: Double]?
  /// Source name → its weight per layer.
  @Lenient public var weights: [String: [Double]]?
  @Lenient public var layers: [String]?
  /// Σ of the rectified per-layer scores (the rule's usefulness).
  @Lenient public var usefulness: Double?
  /// Layers in which no source had a positive weight.
  @Lenient public var emptyLayers: [Int]?
  /// Whether the update was skipped (no usable source).
  @Lenient public var skipped: Bool?
  /// The weight of the target's own gradient per layer (rules that mix it in).
  @Lenient public var targetCoefficients: [Double]?
  /// Source name → per-layer ⟨g_s, g_T⟩ (the exchanged statistics; for scripts/report/weight_diagnostics.py).
  @Lenient public var dots: [String: [Double]]?
  /// Source name → per-layer ‖g_s‖².
  @Lenient public var sourceSquaredNorms: [String: [Double]]?
  /// Per-layer ‖g_T‖².
  @Lenient public var targetSquaredNorms: [Double]?
  /// Source name → the label gate's score (rules that read label scores).
  @Lenient public var labelScores: [String: Double]?
  /// Source name → the class match of the gate before 2026-12-05 (read from older runs; no longer written).
  @Lenient public var labelMatches: [String: Double]?
  /// The loss of the target meta-batch.
  @Lenient public var targetMetaLoss: Double?
  /// The evaluated split's accuracy (`evalSplit`: `test` or `validation`); only at an evaluation.
  /// Read from `target_test_accuracy` in runs written before issue #27.
  @Lenient public var targetAccuracy: Double?
  /// The evaluated split's mean loss (`target_test_loss` before issue #27).
  @Lenient public var targetLoss: Double?
  /// The split `targetAccuracy` was measured on.
  @Lenient public var evalSplit: String?
  /// Pseudo-labelled target images in use.
  @Lenient public var pseudoCount: Int?
  @Lenient public var pseudoAccuracyDiagnostic: Double?
  @Lenient public var provenance: ProvenanceRecord?

  public init(step: Int) { self.step = step }

  enum CodingKeys: String, CodingKey {
    case step, lr, losses, weights, layers, usefulness, skipped, dots, provenance
    case lrScale = "lr_scale", emptyLayers = "empty_layers", targetCoefficients = "target_coefficients"
    case sourceSquaredNorms = "source_squared_norms", targetSquaredNorms = "target_squared_norms"
    case labelScores = "label_scores", labelMatches = "label_matches", targetMetaLoss = "target_meta_loss"
    case targetAccuracy = "target_accuracy", targetLoss = "target_loss", evalSplit = "eval_split"
    case pseudoCount = "pseudo_count", pseudoAccuracyDiagnostic = "pseudo_accuracy_diagnostic"
  }

  /// Source names in the record (its losses' and weights'), sorted.
  public var sourceNames: [String] { Set((losses ?? [:]).keys).union((weights ?? [:]).keys).sorted() }

  /// `source`'s weight in `layer`, if recorded.
  public func weight(_ source: String, layer: String) -> Double? {
    guard let j = layers?.firstIndex(of: layer), let w = weights?[source], j < w.count else { return nil }
    return w[j]
  }
}
