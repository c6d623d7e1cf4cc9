import GradMixCore
import GradMixDistributed
import GradMixEngine

/// Times the communication of one training step of each mixing protocol on
/// synthetic buffers (no forward or backward pass), for the communication
/// study (`gradmix bench comm`). The GradMix protocols run the trainer's own
/// code: ``StepStatistics/allreduce(_:)``, ``GradientMixer/broadcast(_:root:comm:)``
/// for g_T, and the ``AllreduceMixing`` or ``GatherMixing`` strategy (whose
/// local weighted sums are part of the step's time).
///
/// With P parameters, K sources (`sourcesPerWorker` on each worker rank) and
/// L layers, one step sends:
/// - `data-parallel`: allreduce(P floats) — what every data-parallel trainer pays (a raw collective);
/// - `allreduce-recompute`: allreduce(stats: ``StepStatistics``, 2KL + L + 5K + 3 doubles) + allreduce(P);
/// - `allreduce-bcast`: broadcast(g_T, P) + allreduce(stats) + allreduce(P);
/// - `gather`: allreduce(stats) + gather(each worker's sources, K×P at rank 0) + broadcast(P).
public struct CommBenchmark {
  public enum Step: String, CaseIterable, Sendable {
    case dataParallel = "data-parallel"
    case allreduceRecompute = "allreduce-recompute"
    case allreduceBroadcast = "allreduce-bcast"
    case gather
  }

  public struct Record: Sendable {
    public let protocolName: String
    public let params: Int
    public let worldSize: Int
    public let sources: Int
    public let layers: Int
    public let medianSeconds: Double
    public let minSeconds: Double
    /// Payload bytes per step of the coordinator (rank 0).
    public let bytesSent: Int
    public let bytesReceived: Int
    /// Median seconds of each collective within the step.
    public let collectiveSeconds: [String: Double]
    public let collectiveBytes: [String: Int]
  }

  let comm: InstrumentedCommunicator
  public var sourcesPerWorker = 1
  public var layers = 4
  public var repeats = 15
  public var warmup = 3

  public init(communicator: Communicator) {
    comm = InstrumentedCommunicator(wrapping: communicator)
  }

  var sources: Int { sourcesPerWorker * max(comm.worldSize - 1, 1) }

  /// Runs `repeats` steps of `protocol` with `params` floats; every rank calls it.
  public func run(_ p: Step, params: Int) throws -> Record {
    // L layers of (nearly) equal size over P floats, every source on its worker (rank 0 in one process).
    let layout = ParameterLayout(
      groups: (0..<layers).map { l in
        let size = params / layers + (l < params % layers ? 1 : 0)
        return (name: "layer\(l)", tensors: [(name: "layer\(l).weight", shape: [size])])
      })
    let mixer = GradientMixer(layout: layout)
    let mixed = FlatBuffer(count: params), target = FlatBuffer([Float](repeating: 0.5, count: params))
    let owner = { (k: Int) in self.comm.worldSize == 1 ? 0 : 1 + k / self.sourcesPerWorker }
    let local = (0..<sources).filter { owner($0) == comm.rank }.map {
      LocalGradient(source: $0, gradient: FlatBuffer([Float](repeating: Float($0 + 1) * 0.25, count: params)))
    }
    let weights = MixingWeights(
      weights: [[Float]](repeating: [Float](repeating: 1 / Float(sources), count: layers), count: sources),
      usefulness: 0, emptyLayers: [])
    let active = [Bool](repeating: true, count: sources)
    let strategy: any MixingStrategy =
      p == .gather && comm.worldSize > 1
      ? GatherMixing(
        comm: comm, mixer: mixer,
        shards: (0..<sources).map { [SourcePlacement.Shard(rank: owner($0), rows: 0..<1)] })
      : AllreduceMixing(comm: comm, mixer: mixer)
    var timers = PhaseTimers()

    func step() throws {
      var stats = StepStatistics(sources: sources, layers: layers)
      switch p {
      case .dataParallel:
        try comm.allreduceSum(inPlace: mixed.storage)
        return
      case .allreduceBroadcast:
        try mixer.broadcast(target, root: 0, comm: comm)
      case .allreduceRecompute, .gather:
        break
      }
      try stats.allreduce(comm)
      try strategy.mix(
        weights, active: active, local: local, target: comm.rank == 0 ? target : nil, into: mixed, timers: &timers)
    }

    for _ in 0..<warmup { try comm.base.barrier(); try step() }
    var seconds: [Double] = []
    var perOp: [String: [Double]] = [:]
    var bytes: (Int, Int) = (0, 0)
    var opBytes: [String: Int] = [:]
    for _ in 0..<repeats {
      try comm.base.barrier()  // start aligned; the barrier itself is not counted
      let before = comm.totals
      let start = monotonicSeconds()
      try step()
      seconds.append(monotonicSeconds() - start)
      bytes = (0, 0)
      for (op, t) in comm.totals {
        let b = before[op] ?? InstrumentedCommunicator.Totals()
        perOp[op, default: []].append(t.seconds - b.seconds)
        bytes.0 += t.bytesSent - b.bytesSent
        bytes.1 += t.bytesReceived - b.bytesReceived
        opBytes[op] = (t.bytesSent - b.bytesSent) + (t.bytesReceived - b.bytesReceived)
      }
    }
    // Rank 0's bytes are reported (the coordinator's, where ranks differ).
    var b: [Double] = [Double(bytes.0), Double(bytes.1)]
    try b.withUnsafeMutableBufferPointer { try comm.base.broadcast($0, root: 0) }
    return Record(
      protocolName: p.rawValue, params: params, worldSize: comm.worldSize, sources: sources, layers: layers,
      medianSeconds: median(seconds), minSeconds: seconds.min() ?? 0, bytesSent: Int(b[0]),
      bytesReceived: Int(b[1]), collectiveSeconds: perOp.mapValues { median($0) }, collectiveBytes: opBytes)
  }
}
