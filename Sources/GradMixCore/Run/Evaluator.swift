import GradMixData
import GradMixEngine

/// Runs a model over an image set in evaluation mode, in batches.
final class Evaluator {
  let model: Sequential
  let workspace: Workspace
  let batch: Int
  private var rng = RNG(seed: 0)  // unused in eval mode (no dropout)

  init(model: Sequential, batch: Int = 250) {
    self.model = model
    self.batch = batch
    workspace = model.makeWorkspace(maxBatch: batch)
  }

  /// Mean loss and accuracy of `parameters` on `set`.
  func evaluate(_ set: ImageSet, parameters: FlatBuffer, state: FlatBuffer? = nil) -> (loss: Double, accuracy: Double) {
    var lossSum = 0.0, correct = 0
    forEachBatch(set, parameters: parameters, state: state) { start, n, logits in
      let labels = Array(set.labels[start..<(start + n)])
      let l = SoftmaxCrossEntropy.loss(
        dLogits: nil, logits: logits, labels: labels, weights: nil, mask: nil,
        batch: n, classes: model.classCount)
      lossSum += Double(l) * Double(n)
      let pred = SoftmaxCrossEntropy.predictions(logits: logits, batch: n, classes: model.classCount)
      for j in 0..<n where pred[j] == labels[j] { correct += 1 }
    }
    return (lossSum / Double(max(set.count, 1)), Double(correct) / Double(max(set.count, 1)))
  }

  /// The predicted class and its softmax probability for every image.
  func predict(_ set: ImageSet, parameters: FlatBuffer, state: FlatBuffer? = nil) -> (
    labels: [Int32], confidence: [Float]
  ) {
    var labels = [Int32](repeating: 0, count: set.count), confidence = [Float](repeating: 0, count: set.count)
    let k = model.classCount
    var probabilities = [Float](repeating: 0, count: k)
    forEachBatch(set, parameters: parameters, state: state) { start, n, logits in
      for j in 0..<n {
        SoftmaxCrossEntropy.softmax(&probabilities, logits: logits + j * k, classes: k)
        var best = 0
        for c in 1..<k where probabilities[c] > probabilities[best] { best = c }
        labels[start + j] = Int32(best)
        confidence[start + j] = probabilities[best]
      }
    }
    return (labels, confidence)
  }

  private func forEachBatch(
    _ set: ImageSet, parameters: FlatBuffer, state: FlatBuffer?, _ body: (Int, Int, UnsafePointer<Float>) -> Void
  ) {
    var start = 0
    while start < set.count {
      let n = min(batch, set.count - start)
      ImageConversion.toFloatNCHW(set, indices: start..<(start + n), into: workspace.input.baseAddress!)
      let logits = model.forward(workspace, batch: n, parameters: parameters, state: state, mode: .eval, rng: &rng)
      body(start, n, UnsafePointer(logits.baseAddress!))
      start += n
    }
  }
}
