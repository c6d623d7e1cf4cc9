import GradMixDistributed
import Testing

/// The watchdog's bookkeeping without MPI: who is missing, who fell silent,
/// who waits how long, and the one line that ends the job (the MPI side is
/// in GradMixCLITests' "MPI faults", which stops a rank of a real job).
@Suite("StepWatchdog")
struct StepWatchdogTests {
  /// Rank 0 of 4 at its third collective of step 7 (time 100 s); workers reported up to 3, 2 and 1.
  func coordinator() -> StepWatchdog {
    var dog = StepWatchdog(timeout: 5, rank: 0, worldSize: 4, now: 100)
    for _ in 0..<3 { _ = dog.startCollective() }
    dog.step = 7
    dog.record(rank: 1, sequence: 3, now: 101)
    dog.record(rank: 2, sequence: 2, now: 101)
    dog.record(rank: 3, sequence: 1, now: 101)
    return dog
  }

  @Test("silent ranks that did not report rank 0's collective did not arrive; reporting ones wait in an earlier one")
  func missing() {
    var dog = coordinator()
    #expect(dog.sequence == 3 && dog.heartbeat == 0.5 && dog.silence == 1.5)
    // 0.5 s later everyone is still heard from: ranks 2 and 3 wait in earlier collectives, nobody to blame yet.
    #expect(dog.missingRanks(now: 101.5).isEmpty && dog.waitingRanks(now: 101.5) == [2, 3])
    #expect(!dog.allCaughtUp && !dog.hasCulprit(now: 101.5))
    #expect(dog.message(call: "MPI_Bcast", now: 101.5).hasSuffix("; ranks 2, 3 wait in an earlier collective"))
    dog.record(rank: 1, sequence: 3, now: 102.9)
    #expect(dog.missingRanks(now: 103) == [2, 3] && dog.hasCulprit(now: 103))
    #expect(
      dog.message(call: "MPI_Bcast", now: 103)
        == "step timeout: no progress for 5 s at step 7 (in MPI_Bcast); ranks 2, 3 did not arrive")
    for r in 1...3 { dog.record(rank: r, sequence: 3, now: 104) }
    dog.record(rank: 3, sequence: 2, now: 101)  // a late, older report never moves a rank back
    #expect(dog.allCaughtUp && dog.arrived == [0, 3, 3, 3] && !dog.hasCulprit(now: 104.5))
    #expect(
      dog.message(call: "MPI_Allreduce(float, sum)", now: 104.5)
        .hasSuffix("; every rank arrived and is responding, but the collective did not complete"))
    _ = dog.startCollective()
    dog.record(rank: 1, sequence: 4, now: 105)
    dog.record(rank: 2, sequence: 4, now: 105)
    #expect(
      dog.message(call: "MPI_Barrier", now: 106)
        == "step timeout: no progress for 5 s at step 7 (in MPI_Barrier); rank 3 did not arrive")
  }

  @Test("a rank that arrived but fell silent for three heartbeats stopped inside the collective")
  func silent() {
    var dog = coordinator()
    dog.record(rank: 2, sequence: 3, now: 101)
    dog.record(rank: 3, sequence: 3, now: 102)
    dog.record(rank: 1, sequence: 3, now: 102.5)  // rank 2 last heard at 101
    #expect(dog.silentRanks(now: 102.4).isEmpty)
    #expect(dog.silentRanks(now: 103) == [2])
    #expect(
      dog.message(call: "MPI_Allreduce(float, sum)", now: 103)
        == "step timeout: no progress for 5 s at step 7 (in MPI_Allreduce(float, sum)); rank 2 arrived but stopped responding"
    )
    _ = dog.startCollective()  // rank 0 moves on: rank 3 has not reported the new one, rank 2 still silent
    dog.record(rank: 1, sequence: 4, now: 104)
    dog.record(rank: 2, sequence: 4, now: 101.5)
    #expect(
      dog.message(call: "MPI_Bcast", now: 104).hasSuffix(
        "; rank 3 did not arrive; rank 2 arrived but stopped responding"))
    #expect(StepWatchdog(timeout: 100, rank: 0, worldSize: 2, now: 0).heartbeat == 1)
    #expect(StepWatchdog(timeout: 0.1, rank: 0, worldSize: 2, now: 0).heartbeat == 0.05)
  }

  @Test("workers wait longer than rank 0, staggered by rank, and blame rank 0 when they time out")
  func workers() {
    let zero = StepWatchdog(timeout: 2.5, rank: 0, worldSize: 3, now: 0)
    let one = StepWatchdog(timeout: 2.5, rank: 1, worldSize: 3, now: 0)
    var two = StepWatchdog(timeout: 2.5, rank: 2, worldSize: 3, now: 0)
    #expect(zero.patience == 2.5)
    #expect(one.patience == 2.5 * 1.5 + 2)
    #expect(two.patience == one.patience + 1)
    #expect(
      two.message(call: "MPI_Gatherv", now: 10)
        == "step timeout: no progress for 6.75 s before the first step (in MPI_Gatherv) on rank 2 of 3; rank 0 did not end the job first, so rank 0 itself is stopped or slower than the timeout"
    )
    two.step = 12
    #expect(two.message(call: "MPI_Gatherv", now: 10).contains(" at step 12 "))
  }
}
