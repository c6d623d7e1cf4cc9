import GradMixDistributed
import GradMixEngine

/// The step's communication before the statistics exchange, and its one measuring route.
extension TrainingStep {
  /// Sums the shards of a source whose batch is split, inside the source's
  /// group, when the rule needs whole-source norms (``ShardGroups``): every
  /// member then holds the whole batch's mean gradient (each shard was
  /// scaled by its batch fraction). Nothing to do for other slots.
  func sumShards(_ slot: SourceSlot) throws {
    guard let group = slot.group else { return }
    try timers.time(\.communication) {
      for span in mixer.layout.spans { try group.allreduceSum(inPlace: slot.gradient.slice(span)) }
      if let signature = slot.signature {
        try signature.storage.withUnsafeMutableBufferPointer { try group.allreduceSum(inPlace: $0) }
      }
    }
  }

  /// Shares g_T (and Λ_T): the coordinator broadcasts them (unless every
  /// rank recomputes them); then every rank moves Λ̄_T on by this step's Λ_T.
  func shareTargetGradient() throws {
    guard settings.needsTargetGradient else { return }
    if comm.worldSize > 1 && options.targetGradient == .broadcast {
      try timers.time(\.communication) {
        try mixer.broadcast(targetGradient, root: 0, comm: comm)
        if let signature = targetSignature {
          try signature.storage.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: 0) }
        }
      }
    }
    if let signature = targetSignature { timers.time(\.mixing) { signature.smooth() } }
  }

  /// ‖g_k,l‖² and, if finite and the rule uses g_T, ⟨g_T,l, g_k,l⟩ of every
  /// layer of `slot` (Li et al. 2020, Eq. 4's d_k,l), each once per step.
  func measure(_ slot: SourceSlot, into stats: inout StepStatistics) {
    let s = slot.index
    timers.time(\.mixing) {
      for l in 0..<layerCount {
        let range = mixer.layout.layerRanges[l]
        let g = UnsafeBufferPointer(slot.gradient.slice(range))
        guard settings.needsTargetGradient else {
          stats.sourceSquaredNorms[s][l] = BLAS.squaredNorm(g)
          continue
        }
        // One pass over g and g_T for both numbers (BLAS+NormAndDot).
        let (norm, dot) = BLAS.squaredNormAndDot(g, UnsafeBufferPointer(targetGradient.slice(range)))
        stats.sourceSquaredNorms[s][l] = norm
        if norm.isFinite && stats.losses[s].isFinite { stats.dots[s][l] = dot }
      }
    }
  }

  /// The label score of `slot`'s (whole, group-summed) batch against Λ̄_T
  /// (every rank holds the same Λ̄_T); 0 if it is not finite (the source's
  /// gradient is then non-finite too and the source inactive).
  func measureLabels(_ slot: SourceSlot, into stats: inout StepStatistics) {
    guard let signature = slot.signature, let t = targetSignature, settings.needsTargetGradient else { return }
    timers.time(\.mixing) {
      signature.finish()
      let x = signature.cosine(against: t)
      stats.labelScores[slot.index] = x.isFinite ? x : 0
      guard stats.classCount > 0 else { return }
      stats.classCosines[slot.index].withUnsafeMutableBufferPointer { cosines in
        stats.classPresence[slot.index].withUnsafeMutableBufferPointer { present in
          _ = signature.classCosines(against: t, into: cosines, present: present)
        }
      }
    }
  }

  /// Marks `slot` finite (loss and every layer) or clears its measurements.
  /// A shard that does not report (its group's first rank measures the
  /// summed gradient, non-finite if any shard's is) vouches for its loss only.
  func finishMeasuring(_ slot: SourceSlot, in stats: inout StepStatistics) {
    let s = slot.index
    if stats.losses[s].isFinite && (!slot.reports || stats.sourceSquaredNorms[s].allSatisfy({ $0.isFinite })) {
      stats.finite[s] = 1
    } else {
      stats.dots[s] = [Double](repeating: 0, count: layerCount)
      stats.sourceSquaredNorms[s] = stats.dots[s]
      stats.labelScores[s] = 0
      stats.classCosines[s] = stats.classCosines[s].map { _ in 0 }
      stats.classPresence[s] = stats.classPresence[s].map { _ in 0 }
    }
  }
}
