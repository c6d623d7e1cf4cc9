import Foundation

/// A world of one rank: every collective is the identity. Lets the trainer
/// run without MPI through the same code path.
public final class LocalCommunicator: Communicator {
  public init() {}
  public var rank: Int { 0 }
  public var worldSize: Int { 1 }
  public var localSize: Int { 1 }
  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws {}
  public func allreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Double>) throws {}
  public func allreduceMin(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {}
  public func allreduceMax(inPlace buffer: UnsafeMutableBufferPointer<Int64>) throws {}
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
    precondition(root == 0, "A local world has only rank 0, not \(root).")
  }
  public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) throws {
    precondition(root == 0, "A local world has only rank 0, not \(root).")
  }
  public func gather(
    _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>?,
    root: Int
  ) throws {
    precondition(root == 0 && counts == [send.count], "A local gather has one rank with \(send.count) values.")
    guard let receive, let src = send.baseAddress, let dst = receive.baseAddress, send.count > 0 else { return }
    precondition(receive.count >= send.count, "The gather's receive buffer is too small.")
    dst.update(from: src, count: send.count)
  }
  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    precondition(root == 0, "A local world has only rank 0, not \(root).")
    return [bytes]
  }
  public func allgather(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>) throws {
    precondition(receive.count == send.count, "A local allgather's receive buffer must match the send buffer.")
    guard let src = send.baseAddress, let dst = receive.baseAddress, send.count > 0 else { return }
    dst.update(from: src, count: send.count)
  }
  public func startAllreduceSum(inPlace buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicationRequest {
    CompletedRequest()
  }
  public func barrier() throws {}
  /// A world of one splits into a world of one.
  public func split(color: Int, key: Int) throws -> Communicator { LocalCommunicator() }
  public func abort(code: Int32, message: String) -> Never {
    printError("error: \(message)")
    exit(code)
  }
}

/// Writes one line to standard error (unbuffered).
public func printError(_ line: String) {
  FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Writes one line to standard output, unbuffered (progress lines show up at
/// once even when the output is a pipe or a log file).
public func printLine(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
