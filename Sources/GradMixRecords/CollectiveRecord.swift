/// The totals of one kind of collective (summary.json `collectives`, a trace line's `collectives`).
public struct CollectiveRecord: Codable, Equatable, Sendable {
  public var calls: Int
  public var bytesSent: Int
  public var bytesReceived: Int
  public var seconds: Double
  /// Seconds waiting for the other ranks to arrive.
  public var waitSeconds: Double

  public init(calls: Int, bytesSent: Int, bytesReceived: Int, seconds: Double, waitSeconds: Double) {
    self.calls = calls
    self.bytesSent = bytesSent
    self.bytesReceived = bytesReceived
    self.seconds = seconds
    self.waitSeconds = waitSeconds
  }

  enum CodingKeys: String, CodingKey {
    case calls, seconds
    case bytesSent = "bytes_sent", bytesReceived = "bytes_received", waitSeconds = "wait_seconds"
  }
}
