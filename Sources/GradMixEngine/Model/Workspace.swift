/// Activations, caches and gradient scratch of one model for batches of up
/// to `maxBatch` samples, allocated once and reused every step.
///
/// Fill ``input`` (`[N, C, H, W]`, first `batch * inputShape.count` floats),
/// call `Sequential.forward`, write dL/dlogits into ``dOutput``, then call
/// `Sequential.backward`. One workspace serves one forward/backward at a
/// time; GradMix keeps one per concurrent batch.
public final class Workspace: @unchecked Sendable {
  public let spec: String
  public let inputShape: Shape
  public let maxBatch: Int
  /// `activations[i]` is the input of layer i; the last one holds the logits.
  /// A view layer (Flatten) shares its input's buffer.
  let activations: [FlatBuffer]
  let scratch: [FlatBuffer]
  /// Ping-pong buffers for dL/d(activation) during the backward pass.
  let gradientA: FlatBuffer
  let gradientB: FlatBuffer
  /// dL/dlogits, [maxBatch, classes]: written by the loss, read by backward.
  public let dOutput: FlatBuffer
  var lastBatch = 0

  init(model: Sequential, maxBatch: Int) {
    precondition(maxBatch >= 1, "A workspace needs a maximum batch of at least 1, got \(maxBatch).")
    spec = model.spec
    inputShape = model.inputShape
    self.maxBatch = maxBatch
    var acts: [FlatBuffer] = [FlatBuffer(count: maxBatch * model.inputShape.count)]
    var largest = 0
    for (i, layer) in model.layers.enumerated() {
      let n = maxBatch * model.shapes[i + 1].count
      acts.append(layer.isView ? acts[i] : FlatBuffer(count: n))
      if i > 0 { largest = max(largest, maxBatch * model.shapes[i].count) }
    }
    activations = acts
    scratch = model.layers.enumerated().map { (i, layer) in
      FlatBuffer(count: layer.scratchCount(input: model.shapes[i], batch: maxBatch))
    }
    gradientA = FlatBuffer(count: largest)
    gradientB = FlatBuffer(count: largest)
    dOutput = FlatBuffer(count: maxBatch * model.outputShape.count)
  }

  /// The model input, [maxBatch, C, H, W]: write a batch here before `forward`.
  public var input: UnsafeMutableBufferPointer<Float> { activations[0].storage }

  /// The input of layer `i` in the last forward pass, [maxBatch, features of layer i's input].
  public func layerInput(_ i: Int) -> UnsafeMutableBufferPointer<Float> { activations[i].storage }

  /// The logits of the last forward pass, [maxBatch, classes].
  public var output: UnsafeMutableBufferPointer<Float> { activations[activations.count - 1].storage }

  /// Bytes held by this workspace.
  public var byteCount: Int {
    var seen = Set<ObjectIdentifier>()
    var total = 0
    for b in activations + scratch + [gradientA, gradientB, dOutput] where seen.insert(ObjectIdentifier(b)).inserted {
      total += b.count * MemoryLayout<Float>.stride
    }
    return total
  }
}
