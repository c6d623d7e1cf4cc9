/// summary.json: what a finished (or diverged) run reports, written once at its end.
///
/// Written by GradMixCore's `RunRecorder`; read by `gradmix table`/`report`
/// (GradMixReports), the tests and scripts/report/*.py (snake-case keys:
/// `target_accuracy`, `eval_split`, `layer_open_share`).
public struct RunSummary: Codable, Equatable, Sendable {
  @Lenient public var method: String?
  @Lenient public var seed: Int?
  @Lenient public var dataSeed: Int?
  @Lenient public var steps: Int?
  /// The final evaluation's accuracy on `evalSplit` (`target_test_accuracy` before issue #27).
  @Lenient public var targetAccuracy: Double?
  /// The final evaluation's mean loss on `evalSplit` (`target_test_loss` before issue #27).
  @Lenient public var targetLoss: Double?
  /// `test` or `validation`.
  @Lenient public var evalSplit: String?
  /// ‖θ‖₂ of the final parameters (the bit-identity check of refactors).
  @Lenient public var paramsL2: Double?
  @Lenient public var wallSeconds: Double?
  @Lenient public var worldSize: Int?
  /// The config file's path.
  @Lenient public var config: String?
  /// The network's spec.
  @Lenient public var model: String?
  @Lenient public var parameters: Int?
  @Lenient public var layers: [String]?
  @Lenient public var sources: [SourceRecord]?
  /// Source name → its mean weight per layer over the steps it took part in.
  @Lenient public var meanWeights: [String: [Double]]?
  /// Per source and layer (issue #26): the share of steps after `layerShareFromStep` in which
  /// the source's weight was > 0, and its mean weight over them (absent: weight 0).
  @Lenient public var layerOpenShare: [String: [Double]]?
  @Lenient public var layerMeanWeight: [String: [Double]]?
  @Lenient public var layerShareFromStep: Int?
  /// Steps counted in `layerOpenShare` by this process (a resumed run counts from its resume point).
  @Lenient public var layerSteps: Int?
  @Lenient public var nonfiniteSourceSteps: Int?
  @Lenient public var skippedSteps: Int?
  @Lenient public var pseudoRefreshes: Int?
  @Lenient public var pseudoCount: Int?
  @Lenient public var pseudoAccuracyDiagnostic: Double?
  /// The coordinator's seconds per phase (`target_gradient`, `source_gradients`, ...).
  @Lenient public var seconds: [String: Double]?
  /// Median seconds per step, overall (`step`) and per phase (with instrumentation).
  @Lenient public var medianSeconds: [String: Double]?
  /// Per rank: `rank`, the seconds per phase, `median_step`, `median_collectives`, `bytes_sent`, `bytes_received`.
  @Lenient public var perRank: [[String: Double]]?
  /// Collective kind → its totals on the coordinator.
  @Lenient public var collectives: [String: CollectiveRecord]?
  @Lenient public var command: String?
  /// The mixing protocol (`allreduce`, `gather`).
  @Lenient public var comm: String?
  @Lenient public var targetGradient: String?
  /// `completed` or `diverged`.
  @Lenient public var status: String?
  /// For a diverged run: the first bad step (1-based), the step it stopped at, why,
  /// and the newest checkpoint kept (written as null when none).
  @Lenient public var divergedSinceStep: Int?
  @Lenient public var divergedAtStep: Int?
  @Lenient public var divergence: String?
  @ExplicitNull public var lastCheckpoint: String?
  @Lenient public var provenance: ProvenanceRecord?

  public init() {}

  enum CodingKeys: String, CodingKey {
    case method, seed, steps, config, model, parameters, layers, sources, seconds, collectives, command, comm
    case status, divergence, provenance
    case dataSeed = "data_seed", targetAccuracy = "target_accuracy", targetLoss = "target_loss"
    case evalSplit = "eval_split", paramsL2 = "params_l2", wallSeconds = "wall_seconds", worldSize = "world_size"
    case meanWeights = "mean_weights", layerOpenShare = "layer_open_share", layerMeanWeight = "layer_mean_weight"
    case layerShareFromStep = "layer_share_from_step", layerSteps = "layer_steps"
    case nonfiniteSourceSteps = "nonfinite_source_steps", skippedSteps = "skipped_steps"
    case pseudoRefreshes = "pseudo_refreshes", pseudoCount = "pseudo_count"
    case pseudoAccuracyDiagnostic = "pseudo_accuracy_diagnostic", medianSeconds = "median_seconds"
    case perRank = "per_rank", targetGradient = "target_gradient", divergedSinceStep = "diverged_since_step"
    case divergedAtStep = "diverged_at_step", lastCheckpoint = "last_checkpoint"
  }
}
