/// The collective operations the GradMix runtime needs, on raw `Float` and
/// `Double` buffers (slices of a model's flat gradient buffer).
///
/// Every rank must call the same collectives in the same order (the training
/// step is synchronous). `LocalCommunicator` is the one-process case;
/// `MPICommunicator` runs over MPI. Neither knows about engine types.
public protocol Communicator: AnyObject {
  /// This process's rank, 0..<worldSize.
  var rank: Int { get }
  /// Number of ranks.
  var worldSize: Int { get }
  /// Number of ranks on this rank's node (shared-memory neighbours).
  var localSize: Int { get }

  /// Replaces `buffer` on every rank by the elementwise sum over ranks.
  func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws
  /// Double-precision variant (dot products, checksums).
  func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws
  /// Elementwise minimum and maximum over ranks (layout agreement checks).
  func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws
  func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws
  /// Copies `buffer` from `root` to every rank.
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws
  /// Gathers each rank's `send` (which may differ in length per rank) into
  /// `receive` on `root`, rank by rank; `counts[r]` is rank r's length
  /// (needed on every rank). `receive` is ignored on other ranks.
  func gather(
    _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
    root: Int) throws
  /// Gathers each rank's bytes (any length) on `root`, rank by rank; other
  /// ranks get nil. For small state blobs (checkpoints), not for gradients.
  func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]?
  /// Every rank gets every rank's `send` (equal lengths), rank by rank.
  func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws
  /// Starts an allreduce (sum) of `buffer` and returns at once; the buffer
  /// must not be touched until the request's `wait()` returns.
  func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest
  /// Waits until every rank has arrived.
  func barrier() throws
  /// Splits the ranks into disjoint communicators, one per `color`, each
  /// ordered by `key` (`MPI_Comm_split`). A collective: every rank calls it,
  /// once at start-up (not per step).
  func split(color: Int, key: Int) throws -> Communicator
  /// Ends every rank of the job with `message` (printed once) and `code`.
  func abort(code: Int32, message: String) -> Never
  /// Tells the communicator which training step (1-based) the collectives
  /// that follow belong to, for the step watchdog's message.
  func beginStep(_ step: Int)
}

extension Communicator {
  public var isCoordinator: Bool { rank == 0 }
  /// No watchdog: nothing to record.
  public func beginStep(_ step: Int) {}
}

/// A non-blocking collective in flight.
public protocol CommunicationRequest: AnyObject {
  /// Blocks until the operation has completed.
  func wait() throws
}

/// A request that has already completed (the one-rank case).
public final class CompletedRequest: CommunicationRequest {
  public init() {}
  public func wait() throws {}
}
