import Dispatch

/// Counts and times every collective of a wrapped communicator: calls,
/// payload bytes this rank hands to MPI (sent) and gets back (received),
/// and wall seconds inside the call.
///
/// Bytes are payload, not wire traffic: an allreduce of n floats counts 4n
/// sent and 4n received, whatever algorithm MPI uses (the wire traffic of
/// each algorithm is in the cost model of docs/DESIGN.md).
///
/// Wait versus transfer: with `separatingWait` (and more than one rank),
/// every blocking collective is preceded by a barrier whose time is this
/// rank's wait for the slowest rank to arrive (`waitSeconds`); the
/// collective's own time (`seconds`) is then the time to move and reduce the
/// bytes once everyone is there. Choice: a barrier rather than comparing
/// clocks, because it needs no clock shared across nodes; its cost is one
/// barrier latency per collective (README). A non-blocking collective gets
/// no barrier: its time, start and wait, counts as transfer.
///
/// A communicator split off an instrumented one (``split(color:key:)``) is
/// instrumented the same way and records into this one's totals, its
/// collectives named with a `group_` prefix ("group_allreduce"), so the
/// totals (and ``totalWaitSeconds``) cover every collective of the rank.
public final class InstrumentedCommunicator: Communicator {
  public struct Totals: Equatable, Sendable {
    public var calls = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Seconds inside the collective (after the barrier when separating wait).
    public var seconds = 0.0
    /// Seconds in the barrier before it: waiting for the other ranks.
    public var waitSeconds = 0.0
    public init() {}
  }

  public let base: Communicator
  /// Whether a timed barrier precedes each blocking collective.
  public let separatingWait: Bool
  /// Totals per collective ("allreduce", "broadcast", ...) since the start.
  public private(set) var totals: [String: Totals] = [:]

  /// Where a split-off communicator records (nil: here), and its name prefix.
  private let ledger: InstrumentedCommunicator?
  private let prefix: String

  public init(wrapping base: Communicator, separatingWait: Bool = false) {
    self.base = base
    self.separatingWait = separatingWait && base.worldSize > 1
    ledger = nil
    prefix = ""
  }

  private init(wrapping base: Communicator, separatingWait: Bool, ledger: InstrumentedCommunicator) {
    self.base = base
    self.separatingWait = separatingWait && base.worldSize > 1
    self.ledger = ledger
    prefix = "group_"
  }

  /// Wait seconds summed over every collective.
  public var totalWaitSeconds: Double { totals.values.reduce(0) { $0 + $1.waitSeconds } }

  public var rank: Int { base.rank }
  public var worldSize: Int { base.worldSize }
  public var localSize: Int { base.localSize }

  @inline(__always)
  private func record<T>(
    _ op: String, sent: Int, received: Int, blocking: Bool = true,
    _ body: () throws -> T
  ) throws -> T {
    var wait = 0.0
    if separatingWait && blocking {
      let arrived = DispatchTime.now().uptimeNanoseconds
      try base.barrier()
      wait = Double(DispatchTime.now().uptimeNanoseconds - arrived) * 1e-9
    }
    let start = DispatchTime.now().uptimeNanoseconds
    defer {
      (ledger ?? self).add(
        prefix + op, sent: sent, received: received,
        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, wait: wait)
    }
    return try body()
  }

  private func add(_ op: String, sent: Int, received: Int, seconds: Double, wait: Double) {
    var t = totals[op, default: Totals()]
    t.calls += 1
    t.bytesSent += sent
    t.bytesReceived += received
    t.seconds += seconds
    t.waitSeconds += wait
    totals[op] = t
  }

  /// Records an in-place collective on `buffer`: every rank sends and receives the whole buffer.
  private func recordAllreduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ body: () throws -> Void) throws {
    let n = buffer.count * MemoryLayout<T>.stride
    try record("allreduce", sent: n, received: n, body)
  }
  /// Records a broadcast of `buffer`: the root sends it, every other rank receives it.
  private func recordBroadcast<T>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, _ body: () throws -> Void) throws
  {
    let n = buffer.count * MemoryLayout<T>.stride
    try record("broadcast", sent: rank == root ? n : 0, received: rank == root ? 0 : n, body)
  }

  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws {
    try recordAllreduce(buffer) { try base.allreduceSum(inPlace: buffer) }
  }
  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws {
    try recordAllreduce(buffer) { try base.allreduceSum(inPlace: buffer) }
  }
  public func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    try recordAllreduce(buffer) { try base.allreduceMin(inPlace: buffer) }
  }
  public func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    try recordAllreduce(buffer) { try base.allreduceMax(inPlace: buffer) }
  }
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
    try recordBroadcast(buffer, root: root) { try base.broadcast(buffer, root: root) }
  }
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws {
    try recordBroadcast(buffer, root: root) { try base.broadcast(buffer, root: root) }
  }
  public func gather(
    _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
    root: Int
  ) throws {
    let total = counts.reduce(0, +) * 4, mine = send.count * 4
    try record("gather", sent: rank == root ? 0 : mine, received: rank == root ? total - mine : 0) {
      try base.gather(send, counts: counts, into: receive, root: root)
    }
  }
  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    try record("gather", sent: rank == root ? 0 : bytes.count, received: 0) {
      try base.gather(bytes: bytes, root: root)
    }
  }
  public func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {
    let n = send.count * 8
    try record("allgather", sent: n, received: n * (worldSize - 1)) { try base.allgather(send, into: receive) }
  }
  public func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    let n = buffer.count * 4
    return try record("iallreduce", sent: n, received: n, blocking: false) {
      try base.startAllreduceSum(inPlace: buffer)
    }
  }
  public func barrier() throws { try record("barrier", sent: 0, received: 0, blocking: false) { try base.barrier() } }
  /// The split-off communicator, instrumented into this one's totals (`group_` names).
  public func split(color: Int, key: Int) throws -> Communicator {
    InstrumentedCommunicator(
      wrapping: try base.split(color: color, key: key), separatingWait: separatingWait,
      ledger: ledger ?? self)
  }
  public func abort(code: Int32, message: String) -> Never { base.abort(code: code, message: message) }
  public func beginStep(_ step: Int) { base.beginStep(step) }
}
