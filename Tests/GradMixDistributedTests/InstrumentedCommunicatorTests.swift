import Foundation
import GradMixDistributed
import Testing

/// A two-rank world in one process whose barrier takes `barrierSeconds`
/// (the other rank arriving late) and whose allreduce takes `reduceSeconds`.
final class SlowPeerCommunicator: Communicator {
  let barrierSeconds: Double, reduceSeconds: Double
  var barriers = 0
  init(barrierSeconds: Double, reduceSeconds: Double) {
    self.barrierSeconds = barrierSeconds; self.reduceSeconds = reduceSeconds
  }
  var rank: Int { 0 }
  var worldSize: Int { 2 }
  var localSize: Int { 2 }
  func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws {
    Thread.sleep(forTimeInterval: reduceSeconds)
  }
  func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws {
    Thread.sleep(forTimeInterval: reduceSeconds)
  }
  func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {}
  func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {}
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
  func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws {}
  func gather(
    _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
    root: Int
  ) throws {}
  func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes] }
  func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {}
  func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    CompletedRequest()
  }
  func barrier() throws { barriers += 1; Thread.sleep(forTimeInterval: barrierSeconds) }
  func split(color: Int, key: Int) throws -> Communicator { self }
  func abort(code: Int32, message: String) -> Never { fatalError(message) }
}

@Suite("InstrumentedCommunicator")
struct InstrumentedCommunicatorTests {
  @Test("waiting for the other ranks is timed apart from moving the bytes")
  func waitVersusTransfer() throws {
    let base = SlowPeerCommunicator(barrierSeconds: 0.05, reduceSeconds: 0.01)
    let c = InstrumentedCommunicator(wrapping: base, separatingWait: true)
    var x: [Float] = [1, 2]
    try x.withUnsafeMutableBufferPointer { try c.allreduceSum(inPlace: $0) }
    let t = try #require(c.totals["allreduce"])
    #expect(base.barriers == 1)
    #expect(t.calls == 1 && t.bytesSent == 8)
    #expect(t.waitSeconds >= 0.05 && t.waitSeconds < 0.5, "wait \(t.waitSeconds)")
    #expect(t.seconds >= 0.01 && t.seconds < 0.05, "transfer \(t.seconds)")
    #expect(c.totalWaitSeconds == t.waitSeconds)
    // A non-blocking collective gets no barrier.
    _ = try x.withUnsafeMutableBufferPointer { try c.startAllreduceSum(inPlace: $0) }
    #expect(base.barriers == 1)
  }

  @Test("a split-off communicator records into the parent's totals as group_ collectives, wait apart")
  func splitRecordsIntoParent() throws {
    let base = SlowPeerCommunicator(barrierSeconds: 0.03, reduceSeconds: 0.01)
    let c = InstrumentedCommunicator(wrapping: base, separatingWait: true)
    let group = try c.split(color: 1, key: 0)
    var x: [Float] = [1, 2, 3]
    try x.withUnsafeMutableBufferPointer { try group.allreduceSum(inPlace: $0) }
    #expect(c.totals["allreduce"] == nil)
    let t = try #require(c.totals["group_allreduce"])
    #expect(t.calls == 1 && t.bytesSent == 12 && t.bytesReceived == 12)
    #expect(t.waitSeconds >= 0.03 && t.seconds >= 0.01, "wait \(t.waitSeconds), transfer \(t.seconds)")
    #expect(c.totalWaitSeconds == t.waitSeconds)
    // A world of one splits into a world of one.
    let one = try LocalCommunicator().split(color: 0, key: 0)
    #expect(one.rank == 0 && one.worldSize == 1)
  }

  @Test("without separation (or in a world of one) no barrier is added")
  func noSeparation() throws {
    let base = SlowPeerCommunicator(barrierSeconds: 0.05, reduceSeconds: 0)
    let c = InstrumentedCommunicator(wrapping: base)
    var x: [Double] = [1]
    try x.withUnsafeMutableBufferPointer { try c.allreduceSum(inPlace: $0) }
    #expect(base.barriers == 0 && c.totalWaitSeconds == 0)
    #expect(!InstrumentedCommunicator(wrapping: LocalCommunicator(), separatingWait: true).separatingWait)
  }
}
