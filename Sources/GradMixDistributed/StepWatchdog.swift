import Foundation

/// The bookkeeping of the `--step-timeout` watchdog: which collective each
/// rank last arrived at, which ranks still answer, how long a rank waits
/// before it gives up, and the one message that ends the job.
///
/// Every rank calls the same collectives in the same order (``Communicator``),
/// so the number of collectives a rank has started, its `sequence`, is the
/// same on every rank that has reached the same point. Before each collective
/// a worker sends rank 0 its new sequence (a small non-blocking message;
/// ``MPICommunicator`` does the MPI side), and while it waits in one it
/// repeats it every ``heartbeat`` seconds. When rank 0 has waited `timeout`
/// seconds in a collective, the ranks silent for ``silence`` seconds are to
/// blame: those whose last reported sequence is below rank 0's did not
/// arrive, and those that arrived stopped inside it (a non-blocking
/// collective needs every rank to keep calling MPI). A rank still reporting
/// from an earlier collective is alive but held up by them. Rank 0 names the
/// ranks and ends the job.
/// Workers wait longer (``patience``) so that rank 0, which knows who is
/// missing, speaks first; a worker that does time out means rank 0 itself
/// stopped responding.
///
/// Choice: no heartbeat thread (MPI runs at `MPI_THREAD_FUNNELED`, so only the
/// main thread may call MPI); progress is judged only while a rank waits in a
/// collective, which is where a stopped peer makes the others hang.
public struct StepWatchdog: Sendable {
  /// The exit status of a job the watchdog ended: 4 (README, "Reliability").
  /// Choice: the next free code after 3 (diverged); not 75, which promises a checkpoint was just written.
  public static let exitStatus: Int32 = 4

  /// Seconds rank 0 waits in one collective before it ends the job.
  public let timeout: Double
  public let rank: Int
  public let worldSize: Int
  /// The step (1-based) this rank is in; 0 before the first step.
  public var step = 0
  /// Collectives this rank has started.
  public private(set) var sequence = 0
  /// On rank 0: the sequence each rank last reported (rank 0's own entry is unused).
  public private(set) var arrived: [Int]
  /// On rank 0: when each rank was last heard from (monotonic seconds).
  public private(set) var heard: [Double]

  /// - Precondition: `timeout` is positive and finite.
  /// - Parameter now: the monotonic time in seconds (every rank counts as heard from at the start).
  public init(timeout: Double, rank: Int, worldSize: Int, now: Double) {
    precondition(
      timeout > 0 && timeout.isFinite, "The step timeout must be a positive number of seconds, not \(timeout).")
    self.timeout = timeout; self.rank = rank; self.worldSize = worldSize
    arrived = Array(repeating: 0, count: worldSize)
    heard = Array(repeating: now, count: worldSize)
  }

  /// Seconds between a waiting worker's reports: a tenth of the timeout,
  /// within 0.05...1 s (Choice: a few messages per timeout, at most one a second).
  public var heartbeat: Double { min(1, max(0.05, timeout / 10)) }

  /// Seconds of silence after which rank 0 counts an arrived rank as
  /// stopped: three heartbeats.
  public var silence: Double { 3 * heartbeat }

  /// Seconds this rank waits in one collective before it gives up: `timeout`
  /// on rank 0; on worker r, 1.5 × timeout + 2 s + 1 s × (r − 1). Choice:
  /// long enough for rank 0's abort to reach the workers first, even on a
  /// loaded machine, and staggered so that when rank 0 itself is stopped,
  /// one worker (the lowest live one) speaks for the job.
  public var patience: Double { rank == 0 ? timeout : timeout * 1.5 + 2 + Double(rank - 1) }

  /// Counts a collective this rank starts and returns its sequence (what a worker reports).
  public mutating func startCollective() -> Int {
    sequence += 1
    return sequence
  }

  /// Records a worker's report, at time `now`, that it arrived at (or still waits in) collective `sequence`.
  public mutating func record(rank r: Int, sequence s: Int, now: Double) {
    precondition(r > 0 && r < worldSize, "An arrival from rank \(r) is outside 1..<\(worldSize).")
    arrived[r] = max(arrived[r], s)
    heard[r] = max(heard[r], now)
  }

  private var workers: Range<Int> { 1..<max(worldSize, 1) }
  private func isSilent(_ r: Int, now: Double) -> Bool { now - heard[r] >= silence }

  /// The workers, silent at `now`, that have not reported the collective rank 0 waits in.
  public func missingRanks(now: Double) -> [Int] { workers.filter { arrived[$0] < sequence && isSilent($0, now: now) } }

  /// The workers that reported rank 0's collective but are silent at `now`: stopped inside it.
  public func silentRanks(now: Double) -> [Int] { workers.filter { arrived[$0] >= sequence && isSilent($0, now: now) } }

  /// The workers still reporting from an earlier collective at `now` (alive, held up by others).
  public func waitingRanks(now: Double) -> [Int] {
    workers.filter { arrived[$0] < sequence && !isSilent($0, now: now) }
  }

  /// Whether every worker has reported every collective rank 0 has started.
  public var allCaughtUp: Bool { workers.allSatisfy { arrived[$0] >= sequence } }

  /// Whether rank 0 can name a rank to blame at `now`.
  public func hasCulprit(now: Double) -> Bool { workers.contains { isSilent($0, now: now) } }

  /// The one line (without `error: `) that ends the job once this rank has
  /// waited ``patience`` seconds in `call`.
  public func message(call: String, now: Double) -> String {
    let at = step == 0 ? "before the first step" : "at step \(step)"
    let head = "step timeout: no progress for \(String(format: "%g", patience)) s \(at) (in \(call))"
    guard rank == 0 else {
      return head
        + " on rank \(rank) of \(worldSize); rank 0 did not end the job first, so rank 0 itself is stopped or slower than the timeout"
    }
    func ranks(_ list: [Int]) -> String {
      (list.count == 1 ? "rank " : "ranks ") + list.map(String.init).joined(separator: ", ")
    }
    let missing = missingRanks(now: now), silent = silentRanks(now: now), waiting = waitingRanks(now: now)
    var parts: [String] = []
    if !missing.isEmpty { parts.append(ranks(missing) + " did not arrive") }
    if !silent.isEmpty { parts.append(ranks(silent) + " arrived but stopped responding") }
    if !waiting.isEmpty {
      parts.append(ranks(waiting) + (waiting.count == 1 ? " waits" : " wait") + " in an earlier collective")
    }
    if parts.isEmpty { parts.append("every rank arrived and is responding, but the collective did not complete") }
    return head + "; " + parts.joined(separator: "; ")
  }
}
