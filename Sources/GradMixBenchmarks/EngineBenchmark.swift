import GradMixEngine

/// Measures training and inference throughput of a model on random data.
///
/// Method (shared with `scripts/bench_torch.py`): inputs and labels are
/// drawn once per configuration from a fixed seed; `warmup` steps are run
/// untimed; then `repeats` timed runs of `steps` steps each. Each run gives
/// images/s = batch × steps / seconds; the result reports the median run
/// (and min, max). A training step is forward + softmax cross-entropy +
/// backward + SGD (momentum 0.9, weight decay 5e-4); an inference step is a
/// forward pass in eval mode.
public struct EngineBenchmark {
  public enum RunMode: String, Sendable, CaseIterable { case train, infer }

  public struct Result: Sendable {
    public let mode: RunMode
    public let batch: Int
    public let threads: Int
    public let imagesPerSecond: Double
    public let imagesPerSecondMin: Double
    public let imagesPerSecondMax: Double
    public let samples: [Double]
    /// Median seconds per step.
    public var secondsPerStep: Double { Double(batch) / imagesPerSecond }
  }

  public let model: Sequential
  public var warmup = 5
  public var repeats = 7
  public var steps = 20

  public init(model: Sequential) { self.model = model }

  /// Runs one configuration. Sets `BLAS.threads` to `threads`. With a
  /// `recorder`, one more step after the timed ones records its GEMM calls.
  public func run(
    mode: RunMode, batch: Int, threads: Int, profile: LayerProfile? = nil, recorder: GemmRecorder? = nil
  ) -> Result {
    BLAS.threads = threads
    // The layers fix their thread count when built.
    guard let model = try? Sequential(spec: self.model.spec, inputShape: self.model.inputShape, threads: threads) else {
      preconditionFailure("The benchmark's model was built once already; rebuilding it cannot fail.")
    }
    let ws = model.makeWorkspace(maxBatch: batch)
    let params = model.makeParameters(seed: 1), state = model.makeState()
    let grads = model.makeBuffer(), velocity = model.makeBuffer()
    let sgd = SGD(momentum: 0.9, weightDecay: 5e-4)
    var rng = RNG(seed: 2)
    for i in 0..<(batch * model.inputShape.count) { ws.input[i] = rng.uniform() }
    let classes = model.classCount
    let labels = (0..<batch).map { _ in Int32(rng.int(below: classes)) }

    func step() {
      let logits = model.forward(
        ws, batch: batch, parameters: params, state: state,
        mode: mode == .train ? .train : .eval,
        rng: &rng, profile: profile)
      guard mode == .train else { return }
      _ = labels.withUnsafeBufferPointer { y in
        SoftmaxCrossEntropy.loss(
          dLogits: ws.dOutput.pointer, logits: logits.baseAddress!, labels: y.baseAddress!,
          weights: nil, mask: nil, batch: batch, classes: classes)
      }
      grads.zero()
      model.backward(ws, batch: batch, parameters: params, gradients: grads, profile: profile)
      sgd.step(parameters: params, gradients: grads, velocity: velocity, learningRate: 1e-4)
    }

    for _ in 0..<warmup { step() }
    profile?.reset()
    var samples: [Double] = []
    for _ in 0..<repeats {
      let start = monotonicSeconds()
      for _ in 0..<steps { step() }
      samples.append(Double(batch * steps) / (monotonicSeconds() - start))
    }
    if let recorder { BLAS.recordingGemms(recorder) { step() } }
    return Result(
      mode: mode, batch: batch, threads: threads, imagesPerSecond: median(samples),
      imagesPerSecondMin: samples.min() ?? 0, imagesPerSecondMax: samples.max() ?? 0, samples: samples)
  }
}
