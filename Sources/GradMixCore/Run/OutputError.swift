/// A run's output (metrics.jsonl, a trace, summary.json) could not be written.
///
/// A full disk or a revoked permission ends the run with one line naming
/// the file and the system's reason, and exit status 1, instead of a crash
/// and a silently cut-off file (README, "Reliability").
public struct OutputError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let reason: String

  public init(path: String, reason: String) { self.path = path; self.reason = reason }

  public var description: String { "\(path): cannot write: \(reason)" }
}
