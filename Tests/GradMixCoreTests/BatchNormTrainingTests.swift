import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixTestSupport
import Testing

@testable import GradMixCore

/// A BatchNorm/residual network in the trainer: the running statistics move
/// once per step by the mean of the sources' updates, are saved in the
/// checkpoint, and evaluation uses them.
@Suite("Trainer with BatchNorm", .serialized)
struct BatchNormTrainingTests {
  @Test("the running statistics move by the weighted mean of the sources' updates, once per step")
  func meanOfSourceUpdates() throws {
    let model = try Sequential(spec: "bn-gap-fc2", inputShape: Shape([2, 2, 2]))
    let stats = RunningStatistics(model: model)
    let params = model.makeParameters(seed: 1), ws = model.makeWorkspace(maxBatch: 2)
    var rng = RNG(seed: 2)
    // Two "sources": batches with channel means (1, 3) and (5, -1), weights 1 and 0.5.
    let batches: [[Float]] = [
      [1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3],
      [4, 6, 4, 6, -1, -1, -1, -1, 6, 4, 6, 4, -1, -1, -1, -1],
    ]
    for (b, w) in zip(batches, [Float(1), 0.5]) {
      for i in b.indices { ws.input[i] = b[i] }
      model.forward(ws, batch: 2, parameters: params, state: stats.state, mode: .train, rng: &rng)
      stats.collect(weight: w)
      #expect(stats.state.array == model.makeState().array, "collect puts the state back")
    }
    try stats.update(LocalCommunicator())
    let mean = try #require(model.stateLayout.entry(named: "bn1.running_mean"))
    let variance = try #require(model.stateLayout.entry(named: "bn1.running_var"))
    let count = try #require(model.stateLayout.entry(named: "bn1.num_batches_tracked"))
    // running = 0.9·initial + 0.1·(weighted mean of the batch statistics).
    let meanBatchMean: [Float] = [(1 * 1 + 0.5 * 5) / 1.5, (1 * 3 + 0.5 * -1) / 1.5]
    expectClose(Array(stats.state.slice(mean.range)), meanBatchMean.map { 0.1 * $0 }, absolute: 1e-6, relative: 1e-5)
    // Unbiased variances over 8 values: 0 and 0 (constant), 8/7 and 0.
    let meanBatchVar: [Float] = [(1 * 0 + 0.5 * 8 / 7) / 1.5, 0]
    expectClose(
      Array(stats.state.slice(variance.range)), meanBatchVar.map { 0.9 + 0.1 * $0 }, absolute: 1e-6,
      relative: 1e-5)
    #expect(stats.state.slice(count.range)[0] == 1)
  }

  @Test("a residual network trains; its checkpoint holds the running statistics and evaluates to the reported accuracy")
  func trainsAndEvaluates() throws {
    let cfg = try TrainerTests.config(steps: 6).replacingSpec("conv6k3s2p1-bn-relu-res8s2-gap-fc10")
    let opts = TrainerTests.options(.gatedPCGrad, steps: 6)
    let summary = try Trainer(config: cfg, options: opts, communicator: LocalCommunicator()).run()
    let model = try Sequential(spec: cfg.model.spec, inputShape: Shape([3, 28, 28]))
    let ckpt = try Checkpoint.load(from: opts.outDir + "/final.safetensors", for: model)
    let count = try #require(model.stateLayout.entry(named: "res1.bn2.num_batches_tracked"))
    #expect(ckpt.state.slice(count.range)[0] == 6)
    let rv = try #require(model.stateLayout.entry(named: "bn1.running_var"))
    #expect(ckpt.state.slice(rv.range).contains { abs($0 - 1) > 1e-3 })
    let eval = try Evaluation.testAccuracy(
      config: cfg, parameters: ckpt.parameters, state: ckpt.state, model: model,
      dataRoot: TrainerTests.root, dataSeed: 3)
    #expect(eval.accuracy == summary.accuracy)
  }
}

extension TrainConfig {
  func replacingSpec(_ spec: String) -> TrainConfig {
    var c = self
    c.model.spec = spec
    return c
  }
}
