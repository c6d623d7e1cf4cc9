/// One step line of metrics.jsonl: the step's learning rate, each source's loss
/// and per-layer weight, and, at an evaluation, the evaluated split's accuracy.
///
/// Maps are keyed by source name; per-layer lists follow `layers`. Written by
/// GradMixCore's `RunRecorder`, read by GradMixReports and the scripts under
/// scripts/report/ (the JSON keys are snake case: `lr_scale`, `target_accuracy`).
public struct MetricsRecord: Codable, Equatable, Sendable {
  /// 1-based: the record is made after step `step`.
  public var step: Int?
  public var lr: Double?
  /// The adaptive learning-rate scale (1 for methods without one).
  public var lrScale: Double?
  /// Source name → its loss this step (NaN: non-finite); a source absent this step is left out.
  public var losses: [String: Double]?
  /// Source name → its weight per layer.
  public var weights: [String: [Double]]?
  public var layers: [String]?
  /// Σ of the rectified per-layer scores (the rule's usefulness).
  public var usefulness: Double?
  /// Layers in which no source had a positive weight.
  public var emptyLayers: [Int]?
  /// Whether the update was skipped (no usable source).
  public var skipped: Bool?
  /// The weight of the target's own gradient per layer (rules that mix it in).
  public var targetCoefficients: [Double]?
  /// Source name → per-layer ⟨g_s, g_T⟩ (the exchanged statistics; for scripts/report/weight_diagnostics.py).
  public var dots: [String: [Double]]?
  /// Source name → per-layer ‖g_s‖².
  public var sourceSquaredNorms: [String: [Double]]?
  /// Per-layer ‖g_T‖².
  public var targetSquaredNorms: [Double]?
  /// Source name → the label gate's score (rules that read label scores).
  public var labelScores: [String: Double]?
  public var labelMatches: [String: Double]?
  /// The loss of the target meta-batch.
  public var targetMetaLoss: Double?
  /// The evaluated split's accuracy (`evalSplit`: `test` or `validation`); only at an evaluation.
  /// Read from `target_test_accuracy` in runs written before issue #27.
  public var targetAccuracy: Double?
  /// The evaluated split's mean loss (`target_test_loss` before issue #27).
  public var targetLoss: Double?
  /// The split `targetAccuracy` was measured on.
  public var evalSplit: String?
  /// Pseudo-labelled target images in use.
  public var pseudoCount: Int?
  public var pseudoAccuracyDiagnostic: Double?
  public var provenance: ProvenanceRecord?

  public init(step: Int) { self.step = step }

  enum CodingKeys: String, CodingKey {
    case step, lr, losses, weights, layers, usefulness, skipped, dots, provenance
    case lrScale = "lr_scale", emptyLayers = "empty_layers", targetCoefficients = "target_coefficients"
    case sourceSquaredNorms = "source_squared_norms", targetSquaredNorms = "target_squared_norms"
    case labelScores = "label_scores", labelMatches = "label_matches", targetMetaLoss = "target_meta_loss"
    case targetAccuracy = "target_accuracy", targetLoss = "target_loss", evalSplit = "eval_split"
    case pseudoCount = "pseudo_count", pseudoAccuracyDiagnostic = "pseudo_accuracy_diagnostic"
  }

  /// Keys renamed since older runs were written (issue #27: the evaluated split's
  /// accuracy and loss were `target_test_*` even under `--eval-split validation`).
  enum FormerKeys: String, CodingKey {
    case targetAccuracy = "target_test_accuracy", targetLoss = "target_test_loss"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let former = try decoder.container(keyedBy: FormerKeys.self)
    step = c.lenient(.step)
    lr = c.lenient(.lr)
    lrScale = c.lenient(.lrScale)
    losses = c.numberMap(.losses)
    weights = c.numberLists(.weights)
    layers = c.lenient(.layers)
    usefulness = c.lenient(.usefulness)
    emptyLayers = c.lenient(.emptyLayers)
    skipped = c.lenient(.skipped)
    targetCoefficients = c.numbers(.targetCoefficients)
    dots = c.numberLists(.dots)
    sourceSquaredNorms = c.numberLists(.sourceSquaredNorms)
    targetSquaredNorms = c.numbers(.targetSquaredNorms)
    labelScores = c.numberMap(.labelScores)
    labelMatches = c.numberMap(.labelMatches)
    targetMetaLoss = c.lenient(.targetMetaLoss)
    targetAccuracy = c.lenient(.targetAccuracy) ?? former.lenient(.targetAccuracy)
    targetLoss = c.lenient(.targetLoss) ?? former.lenient(.targetLoss)
    evalSplit = c.lenient(.evalSplit)
    pseudoCount = c.lenient(.pseudoCount)
    pseudoAccuracyDiagnostic = c.lenient(.pseudoAccuracyDiagnostic)
    provenance = c.lenient(.provenance)
  }

  /// Source names in the record (its losses' and weights'), sorted.
  public var sourceNames: [String] { Set((losses ?? [:]).keys).union((weights ?? [:]).keys).sorted() }

  /// `source`'s weight in `layer`, if recorded.
  public func weight(_ source: String, layer: String) -> Double? {
    guard let j = layers?.firstIndex(of: layer), let w = weights?[source], j < w.count else { return nil }
    return w[j]
  }
}
