import GradMixCore
import GradMixDistributed
import GradMixEngine

/// Times the collectives of one training step of each mixing protocol on
/// raw buffers (no compute), for the communication study (`gradmix bench comm`).
///
/// With P parameters, K sources (`sourcesPerWorker` on each worker rank) and
/// L layers, one step sends:
/// - `data-parallel`: allreduce(P floats) — what every data-parallel trainer pays;
/// - `allreduce-recompute`: allreduce(stats: ``StepStatistics``, 2KL + L + 3K + 3 doubles) + allreduce(P);
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
  var localSources: Int { comm.worldSize == 1 || comm.rank > 0 ? sourcesPerWorker : 0 }

  /// Runs `repeats` steps of `protocol` with `params` floats; every rank calls it.
  public func run(_ p: Step, params: Int) throws -> Record {
    let mixed = FlatBuffer(count: params), target = FlatBuffer(count: params)
    var stats = [Double](repeating: 1, count: StepStatistics.packedCount(sources: sources, layers: layers))
    let send = FlatBuffer(count: localSources * params)
    let receive = FlatBuffer(count: comm.rank == 0 ? sources * params : 0)
    var counts = [Int](repeating: sourcesPerWorker * params, count: comm.worldSize)
    if comm.worldSize > 1 { counts[0] = 0 }

    func step() throws {
      switch p {
      case .dataParallel:
        try comm.allreduceSum(inPlace: mixed.storage)
      case .allreduceRecompute:
        try stats.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) }
        try comm.allreduceSum(inPlace: mixed.storage)
      case .allreduceBroadcast:
        try comm.broadcast(target.storage, root: 0)
        try stats.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) }
        try comm.allreduceSum(inPlace: mixed.storage)
      case .gather:
        try stats.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) }
        try comm.gather(
          UnsafeBufferPointer(send.storage), counts: comm.worldSize > 1 ? counts : [send.count],
          into: comm.rank == 0 ? receive.storage : nil, root: 0)
        try comm.broadcast(mixed.storage, root: 0)
      }
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
