import GradMixDistributed
import GradMixEngine

/// Every rank sends the gradients of its active sources (or shards) to the
/// coordinator, which forms the mixed gradient in source order and
/// broadcasts it: the mixed gradient is bit-identical to one process's
/// while no batch is split. Of a source whose shards are summed in a group
/// (``ShardGroups``) only the group's first rank sends, the whole gradient.
public final class GatherMixing: MixingStrategy {
  let comm: Communicator
  let mixer: GradientMixer
  /// `shards[k]`: the shards of source k that send (``ShardGroups/reporting``).
  let shards: [[SourcePlacement.Shard]]
  /// Buffers grown on first use.
  var send = FlatBuffer(count: 0)
  var receive = FlatBuffer(count: 0)

  public init(comm: Communicator, mixer: GradientMixer, shards: [[SourcePlacement.Shard]]) {
    self.comm = comm; self.mixer = mixer; self.shards = shards
  }

  public func mix(
    _ weights: MixingWeights, active: [Bool], local: [LocalGradient], target: FlatBuffer?,
    into mixed: FlatBuffer, timers: inout PhaseTimers
  ) throws {
    let p = mixer.layout.count
    // Every rank knows every source's shards and which sources are active, so the counts agree.
    var counts = [Int](repeating: 0, count: comm.worldSize)
    for (k, sending) in shards.enumerated() where active[k] { for shard in sending { counts[shard.rank] += p } }
    // A rank's shards go in source order (its slots are in source order).
    let mine = local.filter { active[$0.source] }
    if send.count < mine.count * p { send = FlatBuffer(count: mine.count * p) }
    for (j, g) in mine.enumerated() {
      send.pointer.advanced(by: j * p).update(from: g.gradient.pointer, count: p)
    }
    let total = counts.reduce(0, +)
    let isCoordinator = comm.rank == 0
    if isCoordinator && receive.count < total { receive = FlatBuffer(count: total) }
    try timers.time(\.communication) {
      try comm.gather(
        UnsafeBufferPointer(start: send.pointer, count: mine.count * p), counts: counts,
        into: isCoordinator ? receive.storage : nil, root: 0)
    }
    if isCoordinator {
      timers.time(\.mixing) {
        mixed.zero()
        // Received rank by rank; within a rank, in source order.
        var offset = [Int](repeating: 0, count: comm.worldSize)
        for r in 1..<comm.worldSize { offset[r] = offset[r - 1] + counts[r - 1] }
        for (k, sending) in shards.enumerated() where active[k] {
          for shard in sending {
            let g = receive.pointer + offset[shard.rank]
            offset[shard.rank] += p
            for (l, range) in mixer.layout.layerRanges.enumerated() where weights.weights[k][l] != 0 {
              BLAS.axpy(
                weights.weights[k][l], UnsafeBufferPointer(start: g + range.lowerBound, count: range.count),
                mixed.slice(range))
            }
          }
        }
        if let target, let c = weights.targetCoefficients { mixer.accumulate(target, weights: c, into: mixed) }
      }
    }
    try timers.time(\.communication) { try comm.broadcast(mixed.storage, root: 0) }
  }
}
