/// What one training step did (every rank computes the same record).
struct StepResult {
  var weights: MixingWeights
  /// Source k took part with a finite gradient.
  var active: [Bool]
  var losses: [Double?]
  var metaLoss: Double?
  var learningRate: Float
  var scale: Float
  /// The meta loss was missing or non-finite: no update this step.
  var skipped: Bool
  /// Sources that computed a non-finite loss or gradient (weight 0 this step).
  var nonFinite: [Int]
  /// Some rank received SIGINT/SIGTERM: stop after this step.
  var stopRequested: Bool
  /// The exchanged statistics the weights came from (logged with the metrics).
  var statistics: StepStatistics?
}
