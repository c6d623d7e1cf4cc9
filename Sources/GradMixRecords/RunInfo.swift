/// run.json: how a run was started, written before its first step; what
/// `--resume` checks and reuses, and what `gradmix table --by KEY` groups by.
///
/// The provenance fields (``ProvenanceRecord``) sit at the top level here
/// (`commit`, `hostname`, `data_files`, ...), not under `provenance`.
public struct RunInfo: Codable, Equatable, Sendable {
  /// The pretrained weights `model.init` loaded (`init`).
  public struct InitWeights: Codable, Equatable, Sendable {
    public var path: String?
    public var sha256: String?
    public var skippedLayers: [String]?

    public init(path: String, sha256: String, skippedLayers: [String]) {
      self.path = path
      self.sha256 = sha256
      self.skippedLayers = skippedLayers
    }

    enum CodingKeys: String, CodingKey {
      case path, sha256
      case skippedLayers = "skipped_layers"
    }
  }

  /// The config file's path.
  public var config: String?
  public var method: String?
  /// Seeds as text (a UInt64 does not fit every JSON reader's numbers).
  public var seed: String?
  public var dataSeed: String?
  public var steps: Int?
  public var dataRoot: String?
  public var targetGradient: String?
  /// The mixing protocol (`allreduce`, `gather`).
  public var comm: String?
  public var coordinatorOwnsSources: Bool?
  public var command: String?
  public var worldSize: Int?
  /// The `key=value` overrides given on the command line.
  public var overrides: [String]?
  public var sources: [SourceRecord]?
  public var sampleShape: [Int]?
  public var classNames: [String]?
  /// Engine threads per rank.
  public var threads: Int?
  public var evalSplit: String?
  public var stepTimeout: Double?
  /// ``ConfigFingerprint``'s hash and values (what `--resume` compares).
  public var configHash: String?
  public var configValues: [String: String]?
  public var initWeights: InitWeights?
  // Provenance, flat.
  public var version: String?
  public var commit: String?
  public var dirty: Bool?
  public var hostname: String?
  public var startedAt: String?
  public var blas: String?
  public var blasCore: String?
  public var blasCoreReason: String?
  public var mpi: String?
  public var dataFiles: [String: String]?

  public init() {}

  enum CodingKeys: String, CodingKey {
    case config, method, seed, steps, comm, command, overrides, sources, threads
    case version, commit, dirty, hostname, blas, mpi
    case dataSeed = "data_seed", dataRoot = "data_root", targetGradient = "target_gradient"
    case coordinatorOwnsSources = "coordinator_owns_sources", worldSize = "world_size"
    case sampleShape = "sample_shape", classNames = "class_names", evalSplit = "eval_split"
    case stepTimeout = "step_timeout", configHash = "config_hash", configValues = "config_values"
    case initWeights = "init", startedAt = "started_at", blasCore = "blas_core"
    case blasCoreReason = "blas_core_reason", dataFiles = "data_files"
  }

  /// The provenance fields, as summary.json nests them.
  public var provenance: ProvenanceRecord {
    get {
      var p = ProvenanceRecord()
      p.version = version; p.commit = commit; p.dirty = dirty; p.threads = threads; p.hostname = hostname
      p.startedAt = startedAt; p.worldSize = worldSize; p.blas = blas; p.blasCore = blasCore
      p.blasCoreReason = blasCoreReason; p.mpi = mpi; p.dataFiles = dataFiles
      return p
    }
    set {
      version = newValue.version; commit = newValue.commit; dirty = newValue.dirty; threads = newValue.threads
      hostname = newValue.hostname; startedAt = newValue.startedAt; worldSize = newValue.worldSize
      blas = newValue.blas; blasCore = newValue.blasCore; blasCoreReason = newValue.blasCoreReason
      mpi = newValue.mpi; dataFiles = newValue.dataFiles
    }
  }
}
