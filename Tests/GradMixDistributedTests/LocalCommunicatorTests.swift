import GradMixDistributed
import Testing

@Suite("LocalCommunicator")
struct LocalCommunicatorTests {
  @Test("a world of one: collectives leave buffers unchanged")
  func identity() throws {
    let c = LocalCommunicator()
    #expect(c.rank == 0 && c.worldSize == 1 && c.isCoordinator)
    var x: [Float] = [1, 2, 3]
    try x.withUnsafeMutableBufferPointer { try c.allreduceSum(inPlace: $0) }
    try x.withUnsafeMutableBufferPointer { try c.broadcast($0, root: 0) }
    #expect(x == [1, 2, 3])
    var d: [Double] = [0.5]
    try d.withUnsafeMutableBufferPointer { try c.allreduceSum(inPlace: $0) }
    #expect(d == [0.5])
    try c.barrier()
  }
}
