/// Where a run came from, as run.json (flat) and summary.json and each metrics
/// line (`provenance`) record it: the binary, the machine, the start time and a
/// SHA-256 of every data file read (GradMixCore's `Provenance` fills it).
public struct ProvenanceRecord: Codable, Equatable, Sendable {
  public var version: String?
  public var commit: String?
  public var dirty: Bool?
  public var threads: Int?
  public var hostname: String?
  /// ISO 8601, UTC, to the second.
  public var startedAt: String?
  public var worldSize: Int?
  public var blas: String?
  public var blasCore: String?
  public var blasCoreReason: String?
  /// How convolutions multiply (the row GEMM or im2col + sgemm; absent before 2026-12-05).
  public var convKernel: String?
  public var mpi: String?
  /// Data file path → SHA-256 hex (an image folder → the fingerprint of its listing).
  public var dataFiles: [String: String]?

  public init() {}

  enum CodingKeys: String, CodingKey {
    case version, commit, dirty, threads, hostname, blas, mpi
    case startedAt = "started_at", worldSize = "world_size", blasCore = "blas_core"
    case blasCoreReason = "blas_core_reason", convKernel = "conv_kernel", dataFiles = "data_files"
  }
}
