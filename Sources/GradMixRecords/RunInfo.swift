/// run.json: how a run was started, written before its first step; what
/// `--resume` checks and reuses, and what `gradmix table --by KEY` groups by.
///
/// One flat JSON object: the ``Settings`` and the ``ProvenanceRecord`` fields
/// (`commit`, `hostname`, `threads`, `data_files`, ...) side by side, not under
/// `provenance` as summary.json nests them. A settings field reads as
/// `run.method`; a provenance field as `run.provenance.commit`.
@dynamicMemberLookup
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

  /// What the run was started with (the fields of run.json beside the provenance).
  public struct Settings: Codable, Equatable, Sendable {
    /// The config file's path.
    public var config: String?
    public var method: String?
    /// The date of the method names `method` uses (nil: a run.json written
    /// before the names of 2026-12-05, whose `gradmix` was the gated PCGrad rule).
    public var methodNames: String?
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
    /// The `key=value` overrides given on the command line.
    public var overrides: [String]?
    public var sources: [SourceRecord]?
    public var sampleShape: [Int]?
    public var classNames: [String]?
    public var evalSplit: String?
    public var stepTimeout: Double?
    /// ``ConfigFingerprint``'s hash and values (what `--resume` compares).
    public var configHash: String?
    public var configValues: [String: String]?
    public var initWeights: InitWeights?

    public init() {}

    enum CodingKeys: String, CodingKey {
      case config, method, seed, steps, comm, command, overrides, sources
      case methodNames = "method_names"
      case dataSeed = "data_seed", dataRoot = "data_root", targetGradient = "target_gradient"
      case coordinatorOwnsSources = "coordinator_owns_sources", sampleShape = "sample_shape"
      case classNames = "class_names", evalSplit = "eval_split", stepTimeout = "step_timeout"
      case configHash = "config_hash", configValues = "config_values", initWeights = "init"
    }
  }

  public var settings = Settings()
  /// The binary, the machine (engine `threads` per rank, `world_size`), the start time and the data files.
  public var provenance = ProvenanceRecord()

  public init() {}

  /// Reads the settings and the provenance from the same flat object.
  public init(from decoder: Decoder) throws {
    settings = try Settings(from: decoder)
    provenance = try ProvenanceRecord(from: decoder)
  }

  /// Writes the settings and the provenance into one flat object.
  public func encode(to encoder: Encoder) throws {
    try settings.encode(to: encoder)
    try provenance.encode(to: encoder)
  }

  /// A settings field (`run.method`, `run.seed`).
  public subscript<T>(dynamicMember field: WritableKeyPath<Settings, T>) -> T {
    get { settings[keyPath: field] }
    set { settings[keyPath: field] = newValue }
  }
}
