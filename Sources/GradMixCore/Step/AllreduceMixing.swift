import GradMixDistributed
import GradMixEngine

/// `--comm allreduce` (the default): each rank sums its own weighted sources
/// (the coordinator adds the target term); one allreduce of the flat buffer
/// gives every rank the mixed gradient.
public final class AllreduceMixing: MixingStrategy {
  let comm: Communicator
  let mixer: GradientMixer

  public init(comm: Communicator, mixer: GradientMixer) {
    self.comm = comm; self.mixer = mixer
  }

  public func mix(
    _ weights: MixingWeights, active: [Bool], local: [LocalGradient], target: FlatBuffer?,
    into mixed: FlatBuffer, timers: inout PhaseTimers
  ) throws {
    timers.time(\.mixing) { mixer.mixLocal(local, weights: weights, active: active, target: target, into: mixed) }
    if comm.worldSize > 1 {
      // Only the trainable layers (one span unless frozen layers sit between trainable ones).
      try timers.time(\.communication) {
        for span in mixer.layout.spans { try comm.allreduceSum(inPlace: mixed.slice(span)) }
      }
    }
  }
}
