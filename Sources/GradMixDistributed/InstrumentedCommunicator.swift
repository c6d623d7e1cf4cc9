import Dispatch

/// Counts and times every collective of a wrapped communicator: calls,
/// payload bytes this rank hands to MPI (sent) and gets back (received),
/// and wall seconds inside the call.
///
/// Bytes are payload, not wire traffic: an allreduce of n floats counts 4n
/// sent and 4n received, whatever algorithm MPI uses (the wire traffic of
/// each algorithm is in the cost model of docs/DESIGN.md). Time inside a
/// collective includes waiting for the slowest rank to arrive.
public final class InstrumentedCommunicator: Communicator {
  public struct Totals: Equatable, Sendable {
    public var calls = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public var seconds = 0.0
    public init() {}
  }

  public let base: Communicator
  /// Totals per collective ("allreduce", "broadcast", ...) since the start.
  public private(set) var totals: [String: Totals] = [:]

  public init(wrapping base: Communicator) { self.base = base }

  public var rank: Int { base.rank }
  public var worldSize: Int { base.worldSize }
  public var localSize: Int { base.localSize }

  @inline(__always)
  private func record<T>(_ op: String, sent: Int, received: Int, _ body: () throws -> T) rethrows -> T {
    let start = DispatchTime.now().uptimeNanoseconds
    defer {
      var t = totals[op, default: Totals()]
      t.calls += 1
      t.bytesSent += sent
      t.bytesReceived += received
      t.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      totals[op] = t
    }
    return try body()
  }

  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws {
    let n = buffer.count * 4
    try record("allreduce", sent: n, received: n) { try base.allreduceSum(inPlace: buffer) }
  }
  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws {
    let n = buffer.count * 8
    try record("allreduce", sent: n, received: n) { try base.allreduceSum(inPlace: buffer) }
  }
  public func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    let n = buffer.count * 8
    try record("allreduce", sent: n, received: n) { try base.allreduceMin(inPlace: buffer) }
  }
  public func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    let n = buffer.count * 8
    try record("allreduce", sent: n, received: n) { try base.allreduceMax(inPlace: buffer) }
  }
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
    let n = buffer.count * 4
    try record("broadcast", sent: rank == root ? n : 0, received: rank == root ? 0 : n) {
      try base.broadcast(buffer, root: root)
    }
  }
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws {
    let n = buffer.count * 8
    try record("broadcast", sent: rank == root ? n : 0, received: rank == root ? 0 : n) {
      try base.broadcast(buffer, root: root)
    }
  }
  public func gather(_ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
                     root: Int) throws {
    let total = counts.reduce(0, +) * 4, mine = send.count * 4
    try record("gather", sent: rank == root ? 0 : mine, received: rank == root ? total - mine : 0) {
      try base.gather(send, counts: counts, into: receive, root: root)
    }
  }
  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    try record("gather", sent: rank == root ? 0 : bytes.count, received: 0) { try base.gather(bytes: bytes, root: root) }
  }
  public func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {
    let n = send.count * 8
    try record("allgather", sent: n, received: n * (worldSize - 1)) { try base.allgather(send, into: receive) }
  }
  public func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    let n = buffer.count * 4
    return try record("iallreduce", sent: n, received: n) { try base.startAllreduceSum(inPlace: buffer) }
  }
  public func barrier() throws { try record("barrier", sent: 0, received: 0) { try base.barrier() } }
  public func abort(code: Int32, message: String) -> Never { base.abort(code: code, message: message) }
}
