import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("Training")
struct TrainingTests {
  /// A 4-class problem on 1x8x8 images: class c has a bright 3x3 blob in
  /// quadrant c at a random position, on Gaussian noise. Separable by a
  /// small CNN, not by chance (25%).
  static func blobs(count: Int, seed: UInt64) -> (x: [Float], y: [Int32]) {
    var rng = RNG(seed: seed)
    var x = [Float](repeating: 0, count: count * 64)
    var y = [Int32](repeating: 0, count: count)
    for i in 0..<count {
      let c = rng.int(below: 4)
      y[i] = Int32(c)
      for j in 0..<64 { x[i * 64 + j] = rng.normal() * 0.3 }
      let r0 = (c / 2) * 4 + rng.int(below: 2), c0 = (c % 2) * 4 + rng.int(below: 2)
      for dr in 0..<3 { for dc in 0..<3 { x[i * 64 + (r0 + dr) * 8 + c0 + dc] += 1 } }
    }
    return (x, y)
  }

  @Test("a tiny CNN learns a separable problem to > 95% test accuracy in 300 steps")
  func learnsBlobs() throws {
    let model = try Sequential(spec: "conv8k3p1-relu-pool2-fc16-relu-fc4", inputShape: Shape([1, 8, 8]))
    let train = Self.blobs(count: 2000, seed: 1), test = Self.blobs(count: 500, seed: 2)
    let params = model.makeParameters(seed: 3)
    let grads = model.makeBuffer(), velocity = model.makeBuffer()
    let sgd = SGD(momentum: 0.9, weightDecay: 1e-4)
    let schedule = LearningRateSchedule.cosine(total: 300, warmup: 10, minFactor: 0.1)
    let batch = 32
    let ws = model.makeWorkspace(maxBatch: batch)
    var rng = RNG(seed: 4)
    var labels = [Int32](repeating: 0, count: batch)
    var firstLoss: Float = 0, lastLoss: Float = 0
    for step in 0..<300 {
      for b in 0..<batch {
        let i = rng.int(below: train.y.count)
        for j in 0..<64 { ws.input[b * 64 + j] = train.x[i * 64 + j] }
        labels[b] = train.y[i]
      }
      let logits = model.forward(ws, batch: batch, parameters: params, mode: .train, rng: &rng)
      let loss = SoftmaxCrossEntropy.loss(
        dLogits: ws.dOutput.pointer, logits: logits.baseAddress!, labels: labels,
        weights: nil, mask: nil, batch: batch, classes: 4)
      if step == 0 { firstLoss = loss }
      lastLoss = loss
      grads.zero()
      model.backward(ws, batch: batch, parameters: params, gradients: grads)
      sgd.step(
        parameters: params, gradients: grads, velocity: velocity, learningRate: schedule.rate(base: 0.05, at: step))
    }
    var correct = 0
    let evalWS = model.makeWorkspace(maxBatch: 100)
    for start in stride(from: 0, to: 500, by: 100) {
      for j in 0..<(100 * 64) { evalWS.input[j] = test.x[start * 64 + j] }
      let logits = model.forward(evalWS, batch: 100, parameters: params, mode: .eval, rng: &rng)
      let pred = SoftmaxCrossEntropy.predictions(logits: logits.baseAddress!, batch: 100, classes: 4)
      for j in 0..<100 where pred[j] == test.y[start + j] { correct += 1 }
    }
    let accuracy = Double(correct) / 500
    print("blobs: loss \(firstLoss) -> \(lastLoss), test accuracy \(accuracy)")
    #expect(accuracy > 0.95)
    #expect(lastLoss < firstLoss / 4)
  }
}

@Suite("Optimiser and schedules")
struct OptimizerTests {
  @Test("SGD with momentum and weight decay follows PyTorch's update")
  func sgd() {
    let p = FlatBuffer([1, -2]), g = FlatBuffer([0.5, 0.25]), v = FlatBuffer(count: 2)
    let sgd = SGD(momentum: 0.9, weightDecay: 0.1)
    sgd.step(parameters: p, gradients: g, velocity: v, learningRate: 0.1)
    // d = g + 0.1 p = [0.6, 0.05]; v = d; p -= 0.1 v
    expectClose(v.array, [0.6, 0.05], absolute: 1e-7, relative: 0)
    expectClose(p.array, [0.94, -2.005], absolute: 1e-6, relative: 0)
    sgd.step(parameters: p, gradients: g, velocity: v, learningRate: 0.1)
    // d = [0.5 + 0.094, 0.25 - 0.2005]; v = 0.9 v + d
    expectClose(v.array, [0.9 * 0.6 + 0.594, 0.9 * 0.05 + 0.0495], absolute: 1e-6, relative: 0)
    expectClose(p.array, [0.94 - 0.1134, -2.005 - 0.00945], absolute: 1e-6, relative: 0)
  }

  @Test("schedules")
  func schedules() {
    #expect(LearningRateSchedule.constant.factor(at: 1000) == 1)
    let s = LearningRateSchedule.step(every: 10, gamma: 0.5)
    #expect(s.factor(at: 9) == 1 && s.factor(at: 10) == 0.5 && s.factor(at: 25) == 0.25)
    let c = LearningRateSchedule.cosine(total: 110, warmup: 10, minFactor: 0.1)
    #expect(abs(c.factor(at: 0) - 0.1) < 1e-6)
    #expect(c.factor(at: 9) == 1)
    #expect(abs(c.factor(at: 60) - 0.55) < 1e-5)
    #expect(abs(c.factor(at: 110) - 0.1) < 1e-6)
    #expect(abs(c.factor(at: 500) - 0.1) < 1e-6)
  }
}
