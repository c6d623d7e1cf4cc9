import GradMixEngine

/// The update that ends every step, the same on every rank: η_t from the
/// schedule (times the adaptive learning-rate scale, Li et al. 2020,
/// Sec. 3.3, where the method uses it), then SGD with momentum on the
/// trainable ranges.
struct ParameterUpdate {
  let sgd: SGD
  let velocity: FlatBuffer
  let schedule: LearningRateSchedule
  /// `optimizer.lr`.
  let baseRate: Float
  /// The ranges SGD updates, each with its `optimizer.layer_lr` multiplier;
  /// nil (the whole buffer at multiplier 1) without `model.freeze` and `layer_lr`.
  let ranges: [(range: Range<Int>, multiplier: Float)]?
  /// Kept across steps and checkpointed (``TrainerState/alr``).
  var alr: AdaptiveLearningRate

  /// η_t before the adaptive scale.
  func rate(at t: Int) -> Float { schedule.rate(base: baseRate, at: t) }

  /// θ ← SGD(θ, `gradients`, `learningRate`).
  func apply(to parameters: FlatBuffer, gradients: FlatBuffer, learningRate: Float) {
    if let ranges {  // model.freeze, optimizer.layer_lr
      sgd.step(
        parameters: parameters, gradients: gradients, velocity: velocity, learningRate: learningRate, ranges: ranges)
    } else {
      sgd.step(parameters: parameters, gradients: gradients, velocity: velocity, learningRate: learningRate)
    }
  }
}
