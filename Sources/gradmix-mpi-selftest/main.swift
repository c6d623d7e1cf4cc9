// gradmix-mpi-selftest: checks every collective of MPICommunicator under mpirun.
//
// Every rank builds the same seeded buffer (plus its rank), runs each collective and checks the
// result against what it must be (Horovod's test_horovod_allreduce does the same). Prints one
// line per check on rank 0 and exits non-zero on any failure. The checks run twice: with MPI's
// blocking collectives, then under the step watchdog (non-blocking collectives completed by polling).
//   mpirun -np 3 --oversubscribe .build/debug/gradmix-mpi-selftest

import Foundation
import GradMixDistributed
import GradMixEngine

BLASCore.selectAtStartup()  // before MPI_Init, as gradmix does
let comm: MPICommunicator
do { comm = try MPICommunicator.start() } catch { printError("error: \(error)"); exit(1) }
let n = comm.worldSize, r = comm.rank
var failures = 0

@MainActor func check(_ name: String, _ ok: Bool) {
  var flag: [Int64] = [ok ? 1 : 0]
  try? flag.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) }
  if flag[0] == 0 { failures += 1 }
  if r == 0 { printLine("\(flag[0] == 1 ? "ok  " : "FAIL") \(name) (\(n) ranks)") }
}

@MainActor func checkCollectives(_ mode: String) throws {
  var rng = RNG(seed: 42)
  let base = (0..<1000).map { _ in Float(rng.int(below: 1000)) / 8 }  // exact in Float: sums stay exact
  // allreduce: the sum of identical buffers is buffer × worldSize.
  var x = base
  try x.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) }
  check("allreduceSum(Float) = buffer × worldSize\(mode)", zip(x, base).allSatisfy { $0 == $1 * Float(n) })
  // allreduce of rank-dependent values: Σ rank.
  var d: [Double] = [Double(r), 1]
  try d.withUnsafeMutableBufferPointer { try comm.allreduceSum(inPlace: $0) }
  check("allreduceSum(Double) of ranks\(mode)", d == [Double(n * (n - 1) / 2), Double(n)])
  var lo: [Int64] = [Int64(r)], hi: [Int64] = [Int64(r)]
  try lo.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) }
  try hi.withUnsafeMutableBufferPointer { try comm.allreduceMax(inPlace: $0) }
  check("allreduceMin/Max of ranks\(mode)", lo == [0] && hi == [Int64(n - 1)])
  // broadcast from the last rank.
  var b = r == n - 1 ? base : [Float](repeating: -1, count: base.count)
  try b.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: n - 1) }
  check("broadcast(root: last)\(mode)", b == base)
  // gather of unequal lengths: rank q sends q+1 copies of q.
  let counts = (0..<n).map { $0 + 1 }
  let send = [Float](repeating: Float(r), count: r + 1)
  var all = [Float](repeating: -1, count: counts.reduce(0, +))
  try send.withUnsafeBufferPointer { s in
    try all.withUnsafeMutableBufferPointer { try comm.gather(s, counts: counts, into: $0, root: 0) }
  }
  let expected = (0..<n).flatMap { [Float](repeating: Float($0), count: $0 + 1) }
  check("gather (unequal lengths) to rank 0\(mode)", r != 0 || all == expected)
  // allgather.
  let mine: [Double] = [Double(r), Double(r * r)]
  var gathered = [Double](repeating: -1, count: 2 * n)
  try mine.withUnsafeBufferPointer { s in
    try gathered.withUnsafeMutableBufferPointer { try comm.allgather(s, into: $0) }
  }
  check("allgather\(mode)", gathered == (0..<n).flatMap { [Double($0), Double($0 * $0)] })
  // gather of byte blobs of unequal lengths (checkpoint state).
  let blobs = try comm.gather(bytes: [UInt8](repeating: UInt8(r), count: r + 2), root: 0)
  check(
    "gather(bytes:) to rank 0\(mode)", r != 0 || blobs == (0..<n).map { [UInt8](repeating: UInt8($0), count: $0 + 2) })
  // non-blocking allreduce.
  var y = base
  let request = try y.withUnsafeMutableBufferPointer { try comm.startAllreduceSum(inPlace: $0) }
  try request.wait()
  check("startAllreduceSum + wait\(mode)", zip(y, base).allSatisfy { $0 == $1 * Float(n) })
  // A large buffer (several MB), as a model's gradient is.
  let big = FlatBuffer(count: 3_000_000)
  for i in 0..<big.count { big.storage[i] = Float(i % 97) }
  try comm.allreduceSum(inPlace: big.storage)
  check("allreduceSum of 3M floats\(mode)", (0..<big.count).allSatisfy { big.storage[$0] == Float($0 % 97) * Float(n) })
  // split: even and odd ranks.
  let sub = try comm.split(color: r % 2, key: r)
  var one: [Double] = [1]
  try one.withUnsafeMutableBufferPointer { try sub.allreduceSum(inPlace: $0) }
  check("split by parity\(mode)", Int(one[0]) == (r % 2 == 0 ? (n + 1) / 2 : n / 2) && sub.rank == r / 2)
  try comm.barrier()
  check("barrier\(mode)", true)
}

do {
  try checkCollectives("")
  try comm.startWatchdog(timeout: 60)
  comm.beginStep(1)
  try checkCollectives(", under the step watchdog")
} catch {
  comm.abort(code: 1, message: "\(error)")
}
comm.finalize()
exit(failures == 0 ? 0 : 1)
