extension TrainConfig {
  // MARK: - Scaling to --steps

  /// One step-based key changed by ``scaled(toSteps:)``.
  public struct ScaledKey: Equatable, Sendable, CustomStringConvertible {
    public let key: String
    public let from: Int
    public let to: Int
    public var description: String { "\(key) \(from)->\(to)" }
  }

  /// The config for a run of `steps` steps, with every step-based key scaled
  /// by `steps / self.steps`: `pseudo_labels.warmup` and `.every`,
  /// `optimizer.schedule.warmup` and `.every`, `eval_every`, `log_every` and
  /// `checkpoint_every`.
  ///
  /// Choice: scale rather than keep. A config's step numbers describe the
  /// shape of its run (pseudo-labelling starts at 60% of it, the learning rate
  /// drops at 2/3), so `--steps 100` on a 600-step config keeps that shape;
  /// keeping them would silently disable whatever lies past step 100. Warm-ups
  /// round to the nearest step (at least 0), intervals to at least 1. To change
  /// `steps` alone, override it instead: `steps=100` keeps every other key.
  /// A key an override in `explicit` sets (`checkpoint_every=20`, or its
  /// whole block) is the user's number for this run and is never scaled.
  /// - Returns: the scaled config (with `steps` set) and the keys that changed,
  ///   which the start-up table lists.
  public func scaled(
    toSteps newSteps: Int, explicit: [ConfigOverride] = []
  ) -> (config: TrainConfig, changed: [ScaledKey]) {
    guard newSteps != steps, steps > 0 else { return (self, []) }
    let factor = Double(newSteps) / Double(steps)
    var c = self
    c.steps = newSteps
    var changed: [ScaledKey] = []
    func scale(_ v: Int?, _ key: String, minimum: Int) -> Int? {
      guard let v else { return nil }
      if explicit.contains(where: { $0.concerns(key) }) { return v }
      let s = max(minimum, Int((Double(v) * factor).rounded()))
      if s != v { changed.append(ScaledKey(key: key, from: v, to: s)) }
      return s
    }
    if var p = c.pseudoLabels {
      p.warmup = scale(p.warmup, "pseudo_labels.warmup", minimum: 0) ?? p.warmup
      p.every = scale(p.every, "pseudo_labels.every", minimum: 1) ?? p.every
      c.pseudoLabels = p
    }
    if var s = c.optimizer.schedule {
      s.warmup = scale(s.warmup, "optimizer.schedule.warmup", minimum: 0)
      s.every = scale(s.every, "optimizer.schedule.every", minimum: 1)
      c.optimizer.schedule = s
    }
    c.evalEvery = scale(c.evalEvery, "eval_every", minimum: 1)
    c.logEvery = scale(c.logEvery, "log_every", minimum: 1)
    c.checkpointEvery = scale(c.checkpointEvery, "checkpoint_every", minimum: 1)
    return (c, changed)
  }
}
