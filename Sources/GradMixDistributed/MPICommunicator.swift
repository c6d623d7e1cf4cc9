import CMPI
import Dispatch
import Foundation

/// `Communicator` over MPI (the only file that imports `CMPI`).
///
/// `MPICommunicator.start()` calls `MPI_Init_thread` once per process (a
/// binary started without `mpirun` becomes a singleton: rank 0 of 1), sets
/// `MPI_ERRORS_RETURN` so failures come back as ``MPIError`` instead of
/// aborting inside MPI, and splits off the ranks sharing this node
/// (`MPI_COMM_TYPE_SHARED`) to learn ``localSize``.
///
/// With ``startWatchdog(timeout:)`` (`gradmix train --step-timeout`), every
/// collective is started non-blocking and completed by polling `MPI_Test`
/// against a deadline, and workers report each collective they reach to rank
/// 0, so that a stopped rank ends the job with one message naming it
/// (``StepWatchdog``). Without it, collectives are MPI's blocking calls.
public final class MPICommunicator: Communicator {
  public let rank: Int
  public let worldSize: Int
  public let localSize: Int
  public let localRank: Int
  private let comm: MPI_Comm?
  /// The `--step-timeout` watchdog; nil: collectives block inside MPI.
  private var watchdog: StepWatchdog?
  /// Rank 0: one posted receive per worker (index = rank) for its arrival reports.
  private var arrivalReceives: [ArrivalMessage] = []
  /// Workers: arrival reports not yet known to be sent.
  private var arrivalSends: [ArrivalMessage] = []
  /// A communicator split off another: the one whose watchdog also watches
  /// this one's collectives (nil: its own).
  private let watchedBy: MPICommunicator?
  /// The communicator holding the watchdog that applies here: the world, for one split off it.
  private var guardian: MPICommunicator { watchedBy ?? self }
  /// The point-to-point tag of arrival reports (collectives never match point-to-point messages).
  private static let arrivalTag: Int32 = 7301

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
    try mpiCheck(
      MPI_Comm_split_type(world, gm_mpi_comm_type_shared(), r, gm_mpi_info_null(), &node),
      "MPI_Comm_split_type")
    var lr: Int32 = 0, ls: Int32 = 0
    try mpiCheck(MPI_Comm_rank(node, &lr), "MPI_Comm_rank(node)")
    try mpiCheck(MPI_Comm_size(node, &ls), "MPI_Comm_size(node)")
    MPI_Comm_free(&node)
    let c = MPICommunicator(comm: world, rank: Int(r), worldSize: Int(s), localRank: Int(lr), localSize: Int(ls))
    started = c
    return c
  }

  private init(
    comm: MPI_Comm?, rank: Int, worldSize: Int, localRank: Int, localSize: Int,
    watchedBy: MPICommunicator? = nil
  ) {
    self.comm = comm; self.rank = rank; self.worldSize = worldSize
    self.localRank = localRank; self.localSize = localSize
    self.watchedBy = watchedBy
  }

  /// The MPI library's version string (e.g. "Open MPI v4.1.4, ...").
  public static var libraryVersion: String {
    var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
    var length: Int32 = 0
    MPI_Get_library_version(&buffer, &length)
    return cText(buffer, length).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Finalises MPI; call once at the end of a successful run.
  public func finalize() {
    if watchdog != nil { settleArrivals() }
    MPI_Finalize()
  }

  // MARK: - Watchdog

  /// Ends the job when this rank waits longer than `timeout` seconds in one
  /// collective (``StepWatchdog/patience`` on workers): rank 0 prints one
  /// line naming the step and the ranks that did not arrive, then calls
  /// `MPI_Abort` with ``StepWatchdog/exitStatus``.
  ///
  /// Call it on every rank at the same point (after start-up, so that slow
  /// data loading is not judged), before the collectives it should watch.
  public func startWatchdog(timeout: Double) throws {
    precondition(watchdog == nil, "The watchdog is already running.")
    watchdog = StepWatchdog(timeout: timeout, rank: rank, worldSize: worldSize, now: Self.now())
    guard rank == 0, worldSize > 1 else { return }
    arrivalReceives = (0..<worldSize).map { _ in ArrivalMessage() }
    for r in 1..<worldSize { try postArrivalReceive(from: r) }
  }

  public func beginStep(_ step: Int) {
    watchdog?.step = step
  }

  private func postArrivalReceive(from r: Int) throws {
    let m = arrivalReceives[r]
    try mpiCheck(
      MPI_Irecv(m.value, 1, gm_mpi_int64(), Int32(r), Self.arrivalTag, comm, &m.request),
      "MPI_Irecv(arrival)")
  }

  /// How long a watched collective is polled without sleeping.
  private static let spinSeconds = 200e-6

  /// Monotonic seconds.
  private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

  /// Counts the collective about to start and, on a worker, reports it to rank 0.
  private func announceCollective() throws {
    guard let sequence = watchdog?.startCollective(), rank != 0 else { return }
    try report(sequence)
  }

  /// A worker's report to rank 0: it is at (or still waits in) collective `sequence`.
  private func report(_ sequence: Int) throws {
    var pending: [ArrivalMessage] = []
    for m in arrivalSends {
      var done: Int32 = 0
      try mpiCheck(MPI_Test(&m.request, &done, gm_mpi_status_ignore()), "MPI_Test(arrival)")
      if done == 0 { pending.append(m) }
    }
    let m = ArrivalMessage()
    m.value.pointee = Int64(sequence)
    try mpiCheck(MPI_Isend(m.value, 1, gm_mpi_int64(), 0, Self.arrivalTag, comm, &m.request), "MPI_Isend(arrival)")
    arrivalSends = pending + [m]
  }

  /// Rank 0: records every arrival report that has come in and re-posts the receives.
  private func drainArrivals() throws {
    for r in arrivalReceives.indices.dropFirst() {
      let m = arrivalReceives[r]
      while true {
        var done: Int32 = 0
        try mpiCheck(MPI_Test(&m.request, &done, gm_mpi_status_ignore()), "MPI_Test(arrival)")
        guard done != 0 else { break }
        watchdog?.record(rank: r, sequence: Int(m.value.pointee), now: Self.now())
        try postArrivalReceive(from: r)
      }
    }
  }

  /// Completes `request`: `MPI_Wait` without the watchdog; else polls
  /// `MPI_Test`, back to back for the first 200 µs (a small collective
  /// completes within them, as fast as a blocking one), then every 100 µs
  /// (Choice: short sleeps so a waiting rank does not take a core from the
  /// computing ones), until it completes or this rank's patience runs out. A waiting worker repeats its report every heartbeat;
  /// rank 0, when it cannot yet name a rank to blame, waits one more
  /// ``StepWatchdog/silence`` for a rank stopped just now to fall silent.
  ///
  /// In a communicator split off the world (a group of ranks), the world's
  /// watchdog applies: a waiting worker's reports keep telling rank 0 it is
  /// alive, and a group collective is not counted in the world's sequence
  /// (not every rank takes part).
  fileprivate func complete(_ request: inout MPI_Request?, _ call: String) throws {
    let world = guardian
    guard let dog = world.watchdog else {
      try mpiCheck(MPI_Wait(&request, gm_mpi_status_ignore()), call)
      return
    }
    let start = Self.now()
    var deadline = start + dog.patience, extended = false, reported = start, polled = start
    while true {
      var done: Int32 = 0
      try mpiCheck(MPI_Test(&request, &done, gm_mpi_status_ignore()), call)
      if done != 0 { return }
      let now = Self.now()
      // A pause of this rank itself (stopped and continued, or descheduled for
      // `silence` or longer) is nobody else's silence: it moves the deadline
      // on, so a rank that was itself stopped does not blame the others when
      // it runs again (e.g. continued by the job's abort).
      if now - polled >= dog.silence { deadline += now - polled }
      polled = now
      if world.rank == 0 {
        try world.drainArrivals()
      } else if now - reported >= dog.heartbeat {
        try world.report(world.watchdog?.sequence ?? 0)
        reported = now
      }
      if now >= deadline {
        if world.rank == 0 && !extended && world.watchdog?.hasCulprit(now: now) == false {
          extended = true
          deadline = now + dog.silence
        } else {
          world.timedOut(world === self ? call : call + " of a group of ranks")
        }
      }
      if now - start >= Self.spinSeconds { usleep(100) }
    }
  }

  /// Prints the watchdog's one line and ends the job.
  private func timedOut(_ call: String) -> Never {
    if rank == 0 { try? drainArrivals() }
    printError("error: " + (watchdog?.message(call: call, now: Self.now()) ?? "step timeout in \(call)"))
    MPI_Abort(comm, StepWatchdog.exitStatus)
    exit(StepWatchdog.exitStatus)
  }

  /// Completes or cancels the arrival messages before `MPI_Finalize` (which
  /// wants no communication pending): rank 0 takes in every report of the
  /// collectives it has seen, then cancels its posted receives.
  private func settleArrivals() {
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64((watchdog?.patience ?? 0) * 1e9)
    func waitOrCancel(_ m: ArrivalMessage, cancel: Bool) {
      var done: Int32 = 0
      while MPI_Test(&m.request, &done, gm_mpi_status_ignore()) == gm_mpi_success(), done == 0,
        !cancel, DispatchTime.now().uptimeNanoseconds < deadline
      { usleep(100) }
      if done == 0 {
        MPI_Cancel(&m.request)
        MPI_Wait(&m.request, gm_mpi_status_ignore())
      }
    }
    if rank == 0 {
      while watchdog?.allCaughtUp == false, DispatchTime.now().uptimeNanoseconds < deadline {
        guard (try? drainArrivals()) != nil else { break }
        usleep(100)
      }
      for m in arrivalReceives.dropFirst() { waitOrCancel(m, cancel: true) }
    } else {
      for m in arrivalSends { waitOrCancel(m, cancel: false) }
    }
    arrivalReceives = []
    arrivalSends = []
  }

  /// One collective: MPI's blocking call without the watchdog, else the
  /// non-blocking one completed under the watchdog.
  private func collective(
    _ call: String, file: String = #fileID, line: Int = #line, blocking: () -> Int32,
    start: (inout MPI_Request?) -> Int32
  ) throws {
    guard guardian.watchdog != nil else {
      try mpiCheck(blocking(), call, file: file, line: line)
      return
    }
    if watchedBy == nil { try announceCollective() }
    var request: MPI_Request? = gm_mpi_request_null()
    try mpiCheck(start(&request), call, file: file, line: line)
    try complete(&request, call)
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

  private func allreduce<T>(
    _ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ op: MPI_Op,
    _ call: String, file: String = #fileID, line: Int = #line
  ) throws {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    for start in chunks(buffer.count) {
      let n = min(buffer.count - start, Int(Int32.max))
      try collective(
        call, file: file, line: line,
        blocking: { MPI_Allreduce(gm_mpi_in_place(), base + start, Int32(n), type, op, comm) },
        start: { MPI_Iallreduce(gm_mpi_in_place(), base + start, Int32(n), type, op, comm, &$0) })
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
      try collective(
        "MPI_Bcast", blocking: { MPI_Bcast(base + start, Int32(n), type, Int32(root), comm) },
        start: { MPI_Ibcast(base + start, Int32(n), type, Int32(root), comm, &$0) })
    }
  }

  public func gather(
    _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
    root: Int
  ) throws {
    precondition(
      counts.count == worldSize && counts[rank] == send.count,
      "gather: counts \(counts) do not match \(worldSize) ranks and this rank's \(send.count) values.")
    let total = counts.reduce(0, +)
    precondition(total <= Int(Int32.max), "gather: \(total) values exceed MPI's int count; split the buffer.")
    precondition(
      rank != root || (receive?.count ?? 0) >= total, "gather: the root needs \(total) floats to receive into.")
    try gatherv(
      send, gm_mpi_float(), into: rank == root ? receive?.baseAddress : nil, counts: counts.map { Int32($0) },
      root: root, "MPI_Gatherv")
  }

  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    var lengths = [Int64](repeating: 0, count: worldSize)
    lengths[rank] = Int64(bytes.count)
    try lengths.withUnsafeMutableBufferPointer { try allreduceMax(inPlace: $0) }
    let total = lengths.reduce(0, +)
    precondition(total <= Int64(Int32.max), "gather(bytes:): \(total) bytes exceed MPI's int count.")
    let counts = lengths.map { Int32($0) }
    var receive = [UInt8](repeating: 0, count: rank == root ? Int(total) : 0)
    try bytes.withUnsafeBufferPointer { send in
      try receive.withUnsafeMutableBufferPointer { recv in
        try gatherv(send, gm_mpi_byte(), into: recv.baseAddress, counts: counts, root: root, "MPI_Gatherv(bytes)")
      }
    }
    guard rank == root else { return nil }
    let displacements = Self.displacements(counts)
    return (0..<worldSize).map { r in Array(receive[Int(displacements[r])..<Int(displacements[r] + counts[r])]) }
  }

  /// Where rank r's part starts in a gathered buffer: the sum of the counts before it.
  static func displacements(_ counts: [Int32]) -> [Int32] {
    var displacements = [Int32](repeating: 0, count: counts.count)
    for r in counts.indices.dropFirst() { displacements[r] = displacements[r - 1] + counts[r - 1] }
    return displacements
  }

  /// One MPI_Gatherv of `send` (rank r sends `counts[r]` values of `type`) into `receive` on the
  /// root, in rank order; what both gathers share.
  private func gatherv<T>(
    _ send: UnsafeBufferPointer<T>, _ type: MPI_Datatype, into receive: UnsafeMutablePointer<T>?, counts: [Int32],
    root: Int, _ call: String
  ) throws {
    var counts = counts
    var displacements = Self.displacements(counts)
    // The count arrays stay in place until a non-blocking gather completes.
    try counts.withUnsafeMutableBufferPointer { c in
      try displacements.withUnsafeMutableBufferPointer { d in
        try collective(
          call,
          blocking: {
            MPI_Gatherv(
              send.baseAddress, Int32(send.count), type, receive, c.baseAddress, d.baseAddress, type, Int32(root), comm)
          },
          start: {
            MPI_Igatherv(
              send.baseAddress, Int32(send.count), type, receive, c.baseAddress, d.baseAddress, type, Int32(root),
              comm, &$0)
          })
      }
    }
  }

  public func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {
    precondition(receive.count == send.count * worldSize, "allgather: receive needs \(send.count * worldSize) values.")
    try collective(
      "MPI_Allgather",
      blocking: {
        MPI_Allgather(
          send.baseAddress, Int32(send.count), gm_mpi_double(), receive.baseAddress,
          Int32(send.count), gm_mpi_double(), comm)
      },
      start: {
        MPI_Iallgather(
          send.baseAddress, Int32(send.count), gm_mpi_double(), receive.baseAddress,
          Int32(send.count), gm_mpi_double(), comm, &$0)
      })
  }

  public func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    precondition(buffer.count <= Int(Int32.max), "A non-blocking allreduce is limited to Int32.max floats.")
    let request = MPIRequest(communicator: self)
    if watchedBy == nil && watchdog != nil { try announceCollective() }
    try mpiCheck(
      MPI_Iallreduce(
        gm_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), gm_mpi_float(),
        gm_mpi_sum(), comm, &request.handle), "MPI_Iallreduce")
    return request
  }

  /// Splits the world by `color`; ranks with the same color form one
  /// communicator, ordered by `key`.
  public func split(color: Int, key: Int) throws -> Communicator {
    var sub: MPI_Comm? = gm_mpi_comm_null()
    try mpiCheck(MPI_Comm_split(comm, Int32(color), Int32(key), &sub), "MPI_Comm_split")
    try mpiCheck(MPI_Comm_set_errhandler(sub, gm_mpi_errors_return()), "MPI_Comm_set_errhandler")
    var r: Int32 = 0, s: Int32 = 0
    try mpiCheck(MPI_Comm_rank(sub, &r), "MPI_Comm_rank")
    try mpiCheck(MPI_Comm_size(sub, &s), "MPI_Comm_size")
    return MPICommunicator(
      comm: sub, rank: Int(r), worldSize: Int(s), localRank: localRank, localSize: localSize,
      watchedBy: guardian)
  }

  public func barrier() throws {
    try collective("MPI_Barrier", blocking: { MPI_Barrier(comm) }, start: { MPI_Ibarrier(comm, &$0) })
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
  /// Completes the request (under its watchdog, if any).
  let communicator: MPICommunicator
  init(communicator: MPICommunicator) { self.communicator = communicator }
  func wait() throws {
    try communicator.complete(&handle, "MPI_Wait(MPI_Iallreduce)")
  }
}

/// One arrival report (a worker's collective count) and its request; the
/// value's memory outlives the request.
final class ArrivalMessage {
  let value = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
  var request: MPI_Request? = gm_mpi_request_null()
  init() { value.pointee = 0 }
  deinit { value.deallocate() }
}

/// Throws ``MPIError`` (with MPI's message) unless `code` is `MPI_SUCCESS`.
func mpiCheck(_ code: Int32, _ call: String, file: String = #fileID, line: Int = #line) throws {
  guard code != gm_mpi_success() else { return }
  var buffer = [CChar](repeating: 0, count: Int(gm_mpi_max_error_string()) + 1)
  var length: Int32 = 0
  MPI_Error_string(code, &buffer, &length)
  throw MPIError(call: call, code: code, message: cText(buffer, length), file: file, line: line)
}

/// The first `length` characters MPI wrote into `buffer` (the string calls report its length; the
/// NUL terminator is not among them).
func cText(_ buffer: [CChar], _ length: Int32) -> String {
  String(decoding: buffer.prefix(max(0, min(Int(length), buffer.count))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
