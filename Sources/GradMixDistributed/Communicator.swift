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
  /// Waits until every rank has arrived.
  func barrier() throws
  /// Ends every rank of the job with `message` (printed once) and `code`.
  func abort(code: Int32, message: String) -> Never
}

extension Communicator {
  public var isCoordinator: Bool { rank == 0 }
}
