import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixRecords

/// Where a run came from: the binary (version, commit, dirty flag, embedded
/// at build time by Plugins/BuildInfoPlugin), the machine (host, threads,
/// BLAS and MPI libraries, world size), when it started, and a SHA-256 of
/// every data file it read.
///
/// Recorded in run.json, summary.json (`provenance`) and each checkpoint's
/// metadata, so a number in a table can be traced to the code, libraries and
/// bytes that produced it. Choice: the commit of the binary, not of the
/// working directory a run is started from (they differ for an installed
/// binary or a run started elsewhere).
public struct Provenance: Sendable, Equatable {
  /// The release version of the package.
  public static let version = "0.1.0"
  /// The git commit the binary was built from (`unknown` outside a checkout).
  public static let commit = BuildInfo.commit
  /// Whether tracked files had uncommitted changes at build time.
  public static let dirty = BuildInfo.dirty

  /// `0.1.0 (commit abc123def456, dirty)`, as `gradmix --version` prints it.
  public static var versionLine: String {
    "\(version) (commit \(commit)\(dirty ? ", dirty" : ""))"
  }

  public var threads: Int
  public var hostname: String
  /// ISO 8601, UTC, to the second.
  public var startedAt: String
  public var worldSize: Int
  public var blas: String
  public var blasCore: String
  /// Why OpenBLAS runs that kernel set (``BLASCore/reason``).
  public var blasCoreReason: String
  /// How convolutions multiply on this machine (``RowGemm/summary``).
  public var convKernel: String
  public var mpi: String
  /// Data file path (as under the data root) → SHA-256 hex; an image folder
  /// (path ending in `/`) → the fingerprint of its listing
  /// (``DiskDataset/listingDigest()``).
  public var dataFiles: [String: String]

  /// Captures the current process's provenance for a run of `config`.
  /// - Parameters:
  ///   - hashData: hash the data files (off for tests that need no digests).
  public static func capture(
    config: TrainConfig, dataRoot: String, worldSize: Int, threads: Int,
    hashData: Bool = true, now: Date = Date()
  ) -> Provenance {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    var files: [String: String] = [:]
    if hashData, let catalog = try? DomainCatalog(dataRoot: dataRoot, custom: config.domains) {
      let names = config.sources.map(\.domain) + [config.target.domain]
      for path in catalog.files(for: names) { files[path] = SHA256.hex(ofFile: path) ?? "unreadable" }
      for (folder, digest) in catalog.folderListings(for: names) { files[folder] = digest }
    }
    return Provenance(
      threads: threads, hostname: ProcessInfo.processInfo.hostName,
      startedAt: formatter.string(from: now), worldSize: worldSize, blas: BLAS.configuration,
      blasCore: BLAS.coreName, blasCoreReason: BLASCore.reason, convKernel: RowGemm.summary,
      mpi: MPICommunicator.libraryVersion, dataFiles: files)
  }

  /// The record's fields (flat in run.json; `provenance` in summary.json and each metrics line).
  public var record: ProvenanceRecord {
    var r = ProvenanceRecord()
    r.version = Provenance.version; r.commit = Provenance.commit; r.dirty = Provenance.dirty; r.threads = threads
    r.hostname = hostname; r.startedAt = startedAt; r.worldSize = worldSize; r.blas = blas; r.blasCore = blasCore
    r.blasCoreReason = blasCoreReason; r.convKernel = convKernel; r.mpi = mpi; r.dataFiles = dataFiles
    return r
  }

  /// The string fields a checkpoint's metadata carries.
  public var checkpointFields: [String: String] {
    [
      "version": Provenance.version, "commit": Provenance.commit, "dirty": String(Provenance.dirty),
      "hostname": hostname, "started_at": startedAt, "threads": String(threads), "blas": blas,
      "blas_core": blasCore, "blas_core_reason": blasCoreReason, "conv_kernel": convKernel, "mpi": mpi,
      "world_size": String(worldSize),
    ]
  }
}
