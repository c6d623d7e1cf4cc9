/// A failed MPI call: which call, MPI's own message and where it was made.
public struct MPIError: Error, CustomStringConvertible {
  public let call: String
  public let code: Int32
  public let message: String
  public let file: String
  public let line: Int

  public var description: String { "\(call) failed with MPI error \(code) (\(message)) at \(file):\(line)" }
}
