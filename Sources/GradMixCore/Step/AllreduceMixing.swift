import GradMixDistributed
import GradMixEngine

/// Each rank sums its own weighted sources (the coordinator adds the target
/// term); one allreduce of the flat buffer gives every rank the mixed gradient.
final class AllreduceMixing: MixingStrategy {
  let comm: Communicator
  let mixer: GradientMixer
  let mixed: FlatBuffer
  let targetGradient: FlatBuffer

  init(comm: Communicator, mixer: GradientMixer, mixed: FlatBuffer, targetGradient: FlatBuffer) {
    self.comm = comm; self.mixer = mixer; self.mixed = mixed; self.targetGradient = targetGradient
  }

  func mix(_ weights: MixingWeights, active: [Bool], local: [SourceSlot], timers: inout PhaseTimers) throws {
    timers.time(\.mixing) {
      mixer.mixLocal(
        local, weights: weights, active: active, target: comm.rank == 0 ? targetGradient : nil,
        into: mixed)
    }
    if comm.worldSize > 1 {
      // Only the trainable layers (one span unless frozen layers sit between trainable ones).
      try timers.time(\.communication) {
        for span in mixer.layout.spans { try comm.allreduceSum(inPlace: mixed.slice(span)) }
      }
    }
  }
}
