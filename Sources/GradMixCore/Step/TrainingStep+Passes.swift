import Foundation
import GradMixData
import GradMixEngine

/// The forward and backward passes of a step: the target gradient and the source gradients.
extension TrainingStep {
  /// g_T ← ∇L_T(θ; meta batch) in eval mode, and Λ_T from the same pass;
  /// returns the meta loss.
  func computeTargetGradient(_ sampler: BatchSampler) -> Double {
    var unused = RNG(seed: 0)
    let loss = timers.time(\.targetGradient) {
      forwardAndLoss(
        sampler, labels: &target.metaLabels, batch: target.metaBatch, rows: 0..<target.metaBatch,
        mask: nil, mode: .eval, rng: &unused)
    }
    if let signature = targetSignature {
      collect(signature, labels: target.metaLabels, rows: target.metaBatch, batchSize: target.metaBatch)
      signature.finish()
    }
    timers.time(\.targetGradient) { backward(target.metaBatch, into: targetGradient) }
    return loss
  }

  /// `slot`'s gradient in train mode, final: scaled by the shard's fraction of
  /// the batch and, for a source summed in a group, summed there. Returns the
  /// mean loss over the slot's rows.
  func sourceGradient(_ slot: SourceSlot, step t: Int) throws -> Double {
    let loss = timers.time(\.sourceGradients) {
      forwardAndLoss(
        slot.sampler!, labels: &slot.labels, batch: slot.batchSize, rows: slot.rows, mask: slot.mask,
        mode: .train, rng: &slot.dropout)
    }
    if let signature = slot.signature {
      collect(signature, labels: slot.labels, rows: slot.rows.count, batchSize: slot.batchSize)
    }
    model.runningStatistics.collect(weight: Float(slot.fraction))
    timers.time(\.sourceGradients) { backward(slot.rows.count, into: slot.gradient) }
    if slot.fraction != 1 { BLAS.scale(slot.gradient.storage, by: Float(slot.fraction)) }
    if injectsNaN(slot, step: t) { slot.gradient.fill(.nan) }
    try sumShards(slot)
    return loss
  }

  /// Whether source k takes part in step t (finetune switches halfway).
  func participates(_ info: SourceInfo, step t: Int) -> Bool {
    guard let switchStep = settings.switchStep else { return true }
    switch info.kind {
    case .configured: return t < switchStep
    case .target, .pseudo: return t >= switchStep
    }
  }

  /// Fills the workspace with the next batch from `sampler`, keeps its
  /// `rows` (a shard computes part of the batch; every shard draws the whole
  /// batch, so the shards of a source see the batch one process would),
  /// runs the forward pass and leaves dL/dlogits in the workspace.
  /// Returns the mean loss over `rows`.
  func forwardAndLoss(
    _ sampler: BatchSampler, labels: inout [Int32], batch: Int, rows: Range<Int>, mask: ClassMask?,
    mode: Mode, rng: inout RNG
  ) -> Double {
    let workspace = model.workspace, network = model.network
    labels.withUnsafeMutableBufferPointer { sampler.next(input: workspace.input.baseAddress!, labels: $0.baseAddress!) }
    if rows.lowerBound > 0 {
      let size = network.inputShape.count
      let input = workspace.input.baseAddress!
      memmove(input, input + rows.lowerBound * size, rows.count * size * MemoryLayout<Float>.stride)
      labels.withUnsafeMutableBufferPointer { l in
        for i in 0..<rows.count { l[i] = l[rows.lowerBound + i] }
      }
    }
    let n = rows.count
    let logits = network.forward(
      workspace, batch: n, parameters: model.parameters, state: model.runningStatistics.state, mode: mode,
      rng: &rng)
    return Double(
      labels.withUnsafeBufferPointer {
        SoftmaxCrossEntropy.loss(
          dLogits: workspace.dOutput.pointer, logits: logits.baseAddress!, labels: $0.baseAddress!,
          weights: nil, mask: mask, batch: n, classes: network.classCount)
      })
  }

  /// The backward pass of the last forward pass into a fresh `gradient`.
  func backward(_ batch: Int, into gradient: FlatBuffer) {
    gradient.zero()
    model.network.backward(model.workspace, batch: batch, parameters: model.parameters, gradients: gradient)
  }

  /// The label signature's sums of this slot's batch from the classifier
  /// layer's input of the last forward pass (``LabelSignature``).
  func collect(_ signature: LabelSignature, labels: [Int32], rows: Int, batchSize: Int) {
    let features = model.workspace.layerInput(model.network.layers.count - 1)
    timers.time(\.mixing) {
      labels.withUnsafeBufferPointer {
        signature.collect(features: features.baseAddress!, labels: $0.baseAddress!, rows: rows, batchSize: batchSize)
      }
    }
  }

  /// Test aid (`--inject-nan`): whether `slot`'s gradient is made NaN in step t.
  func injectsNaN(_ slot: SourceSlot, step t: Int) -> Bool {
    guard let fault = options.injectNaN else { return false }
    return fault.source == slot.info.name && fault.steps.contains(t)
  }
}
