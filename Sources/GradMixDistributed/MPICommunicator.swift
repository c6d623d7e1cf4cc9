import CMPI

import Foundation

/// `Communicator` over MPI (the only file that imports `CMPI`).
///
/// `MPICommunicator.start()` calls `MPI_Init_thread` once per process (a
/// binary started without `mpirun` becomes a singleton: rank 0 of 1), sets
/// `MPI_ERRORS_RETURN` so failures come back as ``MPIError`` instead of
/// aborting inside MPI, and splits off the ranks sharing this node
/// (`MPI_COMM_TYPE_SHARED`) to learn ``localSize``.
public final class MPICommunicator: Communicator {
  public let rank: Int
  public let worldSize: Int
  public let localSize: Int
  public let localRank: Int
  private let comm: MPI_Comm?

  nonisolated(unsafe) private static var started: MPICommunicator?

  /// Initialises MPI (once) and returns the world communicator.
  /// - Throws: ``MPIError`` if initialisation fails.
  public static func start() throws -> MPICommunicator {
    if let started { return started }
    var provided: Int32 = 0
    try mpiCheck(MPI_Init_thread(nil, nil, gm_mpi_thread_funneled(), &provided), "MPI_Init_thread")
    let world = gm_mpi_comm_world()
    try mpiCheck(MPI_Comm_set_errhandler(world, gm_mpi_errors_return()), "MPI_Comm_set_errhandler")
    var r: Int32 = 0, s: Int32 = 0
    try mpiCheck(MPI_Comm_rank(world, &r), "MPI_Comm_rank")
    try mpiCheck(MPI_Comm_size(world, &s), "MPI_Comm_size")
    var node: MPI_Comm? = gm_mpi_comm_null()
    try mpiCheck(MPI_Comm_split_type(world, gm_mpi_comm_type_shared(), r, gm_mpi_info_null(), &node),
                 "MPI_Comm_split_type")
    var lr: Int32 = 0, ls: Int32 = 0
    try mpiCheck(MPI_Comm_rank(node, &lr), "MPI_Comm_rank(node)")
    try mpiCheck(MPI_Comm_size(node, &ls), "MPI_Comm_size(node)")
    MPI_Comm_free(&node)
    let c = MPICommunicator(comm: world, rank: Int(r), worldSize: Int(s), localRank: Int(lr), localSize: Int(ls))
    started = c
    return c
  }

  private init(comm: MPI_Comm?, rank: Int, worldSize: Int, localRank: Int, localSize: Int) {
    self.comm = comm; self.rank = rank; self.worldSize = worldSize
    self.localRank = localRank; self.localSize = localSize
  }

  /// The MPI library's version string (e.g. "Open MPI v4.1.4, ...").
  public static var libraryVersion: String {
    var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
    var length: Int32 = 0
    MPI_Get_library_version(&buffer, &length)
    return String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Finalises MPI; call once at the end of a successful run.
  public func finalize() {
    MPI_Finalize()
  }

  // MARK: - Collectives

  /// MPI counts are C ints: large buffers are reduced in chunks of at most
  /// Int32.max elements.
  private func chunks(_ count: Int) -> StrideTo<Int> { stride(from: 0, to: count, by: Int(Int32.max)) }

  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws {
    try allreduce(buffer, gm_mpi_float(), gm_mpi_sum(), "MPI_Allreduce(float, sum)")
  }

  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws {
    try allreduce(buffer, gm_mpi_double(), gm_mpi_sum(), "MPI_Allreduce(double, sum)")
  }

  public func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    try allreduce(buffer, gm_mpi_int64(), gm_mpi_min(), "MPI_Allreduce(int64, min)")
  }

  public func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {
    try allreduce(buffer, gm_mpi_int64(), gm_mpi_max(), "MPI_Allreduce(int64, max)")
  }

  private func allreduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ op: MPI_Op,
                            _ call: String, file: String = #fileID, line: Int = #line) throws {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    for start in chunks(buffer.count) {
      let n = min(buffer.count - start, Int(Int32.max))
      try mpiCheck(MPI_Allreduce(gm_mpi_in_place(), base + start, Int32(n), type, op, comm), call, file: file, line: line)
    }
  }

  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
    try bcast(buffer, gm_mpi_float(), root)
  }

  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws {
    try bcast(buffer, gm_mpi_double(), root)
  }

  private func bcast<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ root: Int) throws {
    precondition(root >= 0 && root < worldSize, "Broadcast root \(root) is outside 0..<\(worldSize).")
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    for start in chunks(buffer.count) {
      let n = min(buffer.count - start, Int(Int32.max))
      try mpiCheck(MPI_Bcast(base + start, Int32(n), type, Int32(root), comm), "MPI_Bcast")
    }
  }

  public func gather(_ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
                     root: Int) throws {
    precondition(counts.count == worldSize && counts[rank] == send.count,
                 "gather: counts \(counts) do not match \(worldSize) ranks and this rank's \(send.count) values.")
    let total = counts.reduce(0, +)
    precondition(total <= Int(Int32.max), "gather: \(total) values exceed MPI's int count; split the buffer.")
    var counts32 = counts.map { Int32($0) }
    var displacements = [Int32](repeating: 0, count: worldSize)
    for r in 1..<max(worldSize, 1) { displacements[r] = displacements[r - 1] + counts32[r - 1] }
    if rank == root {
      guard let receive, receive.count >= total else { preconditionFailure("gather: the root needs \(total) floats to receive into.") }
      try mpiCheck(MPI_Gatherv(send.baseAddress, Int32(send.count), gm_mpi_float(), receive.baseAddress, &counts32,
                               &displacements, gm_mpi_float(), Int32(root), comm), "MPI_Gatherv")
    } else {
      try mpiCheck(MPI_Gatherv(send.baseAddress, Int32(send.count), gm_mpi_float(), nil, &counts32, &displacements,
                               gm_mpi_float(), Int32(root), comm), "MPI_Gatherv")
    }
  }

  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    var lengths = [Int64](repeating: 0, count: worldSize)
    var mine = [Int64](repeating: 0, count: worldSize)
    mine[rank] = Int64(bytes.count)
    try mine.withUnsafeMutableBufferPointer { try allreduceMax(inPlace: $0) }
    lengths = mine
    let total = lengths.reduce(0, +)
    precondition(total <= Int64(Int32.max), "gather(bytes:): \(total) bytes exceed MPI's int count.")
    var counts = lengths.map { Int32($0) }
    var displacements = [Int32](repeating: 0, count: worldSize)
    for r in 1..<max(worldSize, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
    var receive = [UInt8](repeating: 0, count: rank == root ? Int(total) : 0)
    try bytes.withUnsafeBufferPointer { send in
      try receive.withUnsafeMutableBufferPointer { recv in
        try mpiCheck(MPI_Gatherv(send.baseAddress, Int32(send.count), gm_mpi_byte(), recv.baseAddress, &counts,
                                 &displacements, gm_mpi_byte(), Int32(root), comm), "MPI_Gatherv(bytes)")
      }
    }
    guard rank == root else { return nil }
    return (0..<worldSize).map { r in Array(receive[Int(displacements[r])..<Int(displacements[r] + counts[r])]) }
  }

  public func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {
    precondition(receive.count == send.count * worldSize, "allgather: receive needs \(send.count * worldSize) values.")
    try mpiCheck(MPI_Allgather(send.baseAddress, Int32(send.count), gm_mpi_double(), receive.baseAddress,
                               Int32(send.count), gm_mpi_double(), comm), "MPI_Allgather")
  }

  public func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    precondition(buffer.count <= Int(Int32.max), "A non-blocking allreduce is limited to Int32.max floats.")
    let request = MPIRequest()
    try mpiCheck(MPI_Iallreduce(gm_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), gm_mpi_float(),
                                gm_mpi_sum(), comm, &request.handle), "MPI_Iallreduce")
    return request
  }

  /// Splits the world by `color`; ranks with the same color form one
  /// communicator, ordered by `key`.
  public func split(color: Int, key: Int) throws -> MPICommunicator {
    var sub: MPI_Comm? = gm_mpi_comm_null()
    try mpiCheck(MPI_Comm_split(comm, Int32(color), Int32(key), &sub), "MPI_Comm_split")
    try mpiCheck(MPI_Comm_set_errhandler(sub, gm_mpi_errors_return()), "MPI_Comm_set_errhandler")
    var r: Int32 = 0, s: Int32 = 0
    try mpiCheck(MPI_Comm_rank(sub, &r), "MPI_Comm_rank")
    try mpiCheck(MPI_Comm_size(sub, &s), "MPI_Comm_size")
    return MPICommunicator(comm: sub, rank: Int(r), worldSize: Int(s), localRank: localRank, localSize: localSize)
  }

  public func barrier() throws {
    try mpiCheck(MPI_Barrier(comm), "MPI_Barrier")
  }

  /// Prints `message` once (prefixed with the rank) and ends every rank.
  public func abort(code: Int32, message: String) -> Never {
    printError("error (rank \(rank) of \(worldSize)): \(message)")
    MPI_Abort(comm, code)
    exit(code)
  }
}

/// An `MPI_Request` of a non-blocking collective.
final class MPIRequest: CommunicationRequest {
  var handle: MPI_Request? = gm_mpi_request_null()
  func wait() throws {
    try mpiCheck(MPI_Wait(&handle, gm_mpi_status_ignore()), "MPI_Wait")
  }
}

/// Throws ``MPIError`` (with MPI's message) unless `code` is `MPI_SUCCESS`.
func mpiCheck(_ code: Int32, _ call: String, file: String = #fileID, line: Int = #line) throws {
  guard code != gm_mpi_success() else { return }
  var buffer = [CChar](repeating: 0, count: Int(gm_mpi_max_error_string()) + 1)
  var length: Int32 = 0
  MPI_Error_string(code, &buffer, &length)
  throw MPIError(call: call, code: code, message: String(cString: buffer), file: file, line: line)
}
