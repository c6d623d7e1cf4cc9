/// summary.json: what a finished (or diverged) run reports, written once at its end.
///
/// Written by GradMixCore's `RunRecorder`; read by `gradmix table`/`report`
/// (GradMixReports), the tests and scripts/report/*.py (snake-case keys:
/// `target_accuracy`, `eval_split`, `layer_open_share`).
public struct RunSummary: Codable, Equatable, Sendable {
  public var method: String?
  public var seed: Int?
  public var dataSeed: Int?
  public var steps: Int?
  /// The final evaluation's accuracy on `evalSplit` (`target_test_accuracy` before issue #27).
  public var targetAccuracy: Double?
  /// The final evaluation's mean loss on `evalSplit` (`target_test_loss` before issue #27).
  public var targetLoss: Double?
  /// `test` or `validation`.
  public var evalSplit: String?
  /// ‖θ‖₂ of the final parameters (the bit-identity check of refactors).
  public var paramsL2: Double?
  public var wallSeconds: Double?
  public var worldSize: Int?
  /// The config file's path.
  public var config: String?
  /// The network's spec.
  public var model: String?
  public var parameters: Int?
  public var layers: [String]?
  public var sources: [SourceRecord]?
  /// Source name → its mean weight per layer over the steps it took part in.
  public var meanWeights: [String: [Double]]?
  /// Per source and layer (issue #26): the share of steps after `layerShareFromStep` in which
  /// the source's weight was > 0, and its mean weight over them (absent: weight 0).
  public var layerOpenShare: [String: [Double]]?
  public var layerMeanWeight: [String: [Double]]?
  public var layerShareFromStep: Int?
  /// Steps counted in `layerOpenShare` by this process (a resumed run counts from its resume point).
  public var layerSteps: Int?
  public var nonfiniteSourceSteps: Int?
  public var skippedSteps: Int?
  public var pseudoRefreshes: Int?
  public var pseudoCount: Int?
  public var pseudoAccuracyDiagnostic: Double?
  /// The coordinator's seconds per phase (`target_gradient`, `source_gradients`, ...).
  public var seconds: [String: Double]?
  /// Median seconds per step, overall (`step`) and per phase (with instrumentation).
  public var medianSeconds: [String: Double]?
  /// Per rank: `rank`, the seconds per phase, `median_step`, `median_collectives`, `bytes_sent`, `bytes_received`.
  public var perRank: [[String: Double]]?
  /// Collective kind → its totals on the coordinator.
  public var collectives: [String: CollectiveRecord]?
  public var command: String?
  /// The mixing protocol (`allreduce`, `gather`).
  public var comm: String?
  public var targetGradient: String?
  /// `completed` or `diverged`.
  public var status: String?
  /// For a diverged run: the first bad step (1-based), the step it stopped at, why,
  /// and the newest checkpoint kept (written as null when none).
  public var divergedSinceStep: Int?
  public var divergedAtStep: Int?
  public var divergence: String?
  public var lastCheckpoint: String?
  public var provenance: ProvenanceRecord?

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

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let former = try decoder.container(keyedBy: MetricsRecord.FormerKeys.self)
    method = c.lenient(.method)
    seed = c.lenient(.seed)
    dataSeed = c.lenient(.dataSeed)
    steps = c.lenient(.steps)
    targetAccuracy = c.lenient(.targetAccuracy) ?? former.lenient(.targetAccuracy)
    targetLoss = c.lenient(.targetLoss) ?? former.lenient(.targetLoss)
    evalSplit = c.lenient(.evalSplit)
    paramsL2 = c.lenient(.paramsL2)
    wallSeconds = c.lenient(.wallSeconds)
    worldSize = c.lenient(.worldSize)
    config = c.lenient(.config)
    model = c.lenient(.model)
    parameters = c.lenient(.parameters)
    layers = c.lenient(.layers)
    sources = c.lenient(.sources)
    meanWeights = c.numberLists(.meanWeights)
    layerOpenShare = c.numberLists(.layerOpenShare)
    layerMeanWeight = c.numberLists(.layerMeanWeight)
    layerShareFromStep = c.lenient(.layerShareFromStep)
    layerSteps = c.lenient(.layerSteps)
    nonfiniteSourceSteps = c.lenient(.nonfiniteSourceSteps)
    skippedSteps = c.lenient(.skippedSteps)
    pseudoRefreshes = c.lenient(.pseudoRefreshes)
    pseudoCount = c.lenient(.pseudoCount)
    pseudoAccuracyDiagnostic = c.lenient(.pseudoAccuracyDiagnostic)
    seconds = c.numberMap(.seconds)
    medianSeconds = c.numberMap(.medianSeconds)
    perRank = c.lenient(.perRank)
    collectives = c.lenient(.collectives)
    command = c.lenient(.command)
    comm = c.lenient(.comm)
    targetGradient = c.lenient(.targetGradient)
    status = c.lenient(.status)
    divergedSinceStep = c.lenient(.divergedSinceStep)
    divergedAtStep = c.lenient(.divergedAtStep)
    divergence = c.lenient(.divergence)
    lastCheckpoint = c.lenient(.lastCheckpoint)
    provenance = c.lenient(.provenance)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encodeIfPresent(method, forKey: .method)
    try c.encodeIfPresent(seed, forKey: .seed)
    try c.encodeIfPresent(dataSeed, forKey: .dataSeed)
    try c.encodeIfPresent(steps, forKey: .steps)
    try c.encodeIfPresent(targetAccuracy, forKey: .targetAccuracy)
    try c.encodeIfPresent(targetLoss, forKey: .targetLoss)
    try c.encodeIfPresent(evalSplit, forKey: .evalSplit)
    try c.encodeIfPresent(paramsL2, forKey: .paramsL2)
    try c.encodeIfPresent(wallSeconds, forKey: .wallSeconds)
    try c.encodeIfPresent(worldSize, forKey: .worldSize)
    try c.encodeIfPresent(config, forKey: .config)
    try c.encodeIfPresent(model, forKey: .model)
    try c.encodeIfPresent(parameters, forKey: .parameters)
    try c.encodeIfPresent(layers, forKey: .layers)
    try c.encodeIfPresent(sources, forKey: .sources)
    try c.encodeIfPresent(meanWeights, forKey: .meanWeights)
    try c.encodeIfPresent(layerOpenShare, forKey: .layerOpenShare)
    try c.encodeIfPresent(layerMeanWeight, forKey: .layerMeanWeight)
    try c.encodeIfPresent(layerShareFromStep, forKey: .layerShareFromStep)
    try c.encodeIfPresent(layerSteps, forKey: .layerSteps)
    try c.encodeIfPresent(nonfiniteSourceSteps, forKey: .nonfiniteSourceSteps)
    try c.encodeIfPresent(skippedSteps, forKey: .skippedSteps)
    try c.encodeIfPresent(pseudoRefreshes, forKey: .pseudoRefreshes)
    try c.encodeIfPresent(pseudoCount, forKey: .pseudoCount)
    try c.encodeIfPresent(pseudoAccuracyDiagnostic, forKey: .pseudoAccuracyDiagnostic)
    try c.encodeIfPresent(seconds, forKey: .seconds)
    try c.encodeIfPresent(medianSeconds, forKey: .medianSeconds)
    try c.encodeIfPresent(perRank, forKey: .perRank)
    try c.encodeIfPresent(collectives, forKey: .collectives)
    try c.encodeIfPresent(command, forKey: .command)
    try c.encodeIfPresent(comm, forKey: .comm)
    try c.encodeIfPresent(targetGradient, forKey: .targetGradient)
    try c.encodeIfPresent(status, forKey: .status)
    try c.encodeIfPresent(divergedSinceStep, forKey: .divergedSinceStep)
    try c.encodeIfPresent(divergedAtStep, forKey: .divergedAtStep)
    try c.encodeIfPresent(divergence, forKey: .divergence)
    // A diverged run names its last checkpoint, null when none is left.
    if status == "diverged" { try c.encode(lastCheckpoint, forKey: .lastCheckpoint) }
    try c.encodeIfPresent(provenance, forKey: .provenance)
  }
}
