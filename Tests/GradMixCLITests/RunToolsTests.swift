import Foundation
import GradMixData
import GradMixEngine
import GradMixTestSupport
import Testing

/// Overrides, provenance and the tools that read runs (table, report, export, sweep), through the binary.
@Suite("Run tools", .serialized)
struct RunToolsTests {
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  static func tempDir() throws -> String { try makeTemporaryDirectory("gradmix-tools") }

  static func writeConfig(_ dir: String, steps: Int = 80) throws -> String {
    let path = dir + "/c.yaml"
    try Data((ReliabilityTests.config(steps: steps) + "\ncheckpoint_every: 40\n").utf8)
      .write(to: URL(fileURLWithPath: path))
    return path
  }

  static func json(_ path: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }

  @Test("a 40-step run with optimizer.lr=0.02 writes the resolved config and its provenance")
  func overrideAndProvenance() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir)
    let r = try runProduct(["train", "--config", config, "--data-root", Self.root, "--out", dir + "/run", "--steps", "40",
                            "--threads", "1", "optimizer.lr=0.02", "sources[1].limit=30"])
    #expect(r.status == 0, "\(r.stderr)")
    // The start-up table lists the overrides and the keys scaled from 80 to 40 steps.
    #expect(r.stdout.contains("overrides:  optimizer.lr=0.02 sources[1].limit=30"), "\(r.stdout)")
    #expect(r.stdout.contains("checkpoint_every 40->20") && r.stdout.contains("eval_every 10->5"), "\(r.stdout)")
    let resolved = try String(contentsOfFile: dir + "/run/config.resolved.yaml", encoding: .utf8)
    #expect(resolved.contains("lr: 0.02") && resolved.contains("limit: 30") && resolved.contains("steps: 40"), "\(resolved)")
    #expect(resolved.contains("eval_every: 5") && resolved.contains("momentum: 0.9"), "\(resolved)")
    // config.yaml (what --resume reads) carries the overrides but not the scaling.
    let config2 = try String(contentsOfFile: dir + "/run/config.yaml", encoding: .utf8)
    #expect(config2.contains("lr: 0.02") && config2.contains("steps: 80"), "\(config2)")
    let run = try Self.json(dir + "/run/run.json")
    for key in ["threads", "hostname", "version", "commit", "blas", "blas_core", "mpi", "started_at", "dirty"] {
      #expect(run[key] != nil, "run.json lacks \(key)")
    }
    #expect(run["threads"] as? Int == 1)
    #expect((run["mpi"] as? String)?.contains("MPI") == true)
    #expect((run["blas"] as? String)?.contains("OpenBLAS") == true)
    let files = try #require(run["data_files"] as? [String: String])
    let mnist = try #require(files[Self.root + "/mnist/train-images-idx3-ubyte"])
    #expect(mnist == SHA256.hex(ofFile: Self.root + "/mnist/train-images-idx3-ubyte"))
    #expect(files.keys.contains { $0.hasPrefix(Self.root + "/photos/") })  // mnist-m blends photos
    let summary = try Self.json(dir + "/run/summary.json")
    let p = try #require(summary["provenance"] as? [String: Any])
    #expect(p["commit"] as? String == run["commit"] as? String)
    let meta = try Checkpoint.readMetadata(at: dir + "/run/final.safetensors")
    #expect(meta.extra["commit"] == run["commit"] as? String && meta.extra["hostname"] != nil)
  }

  @Test("a bad override is one error line with exit status 2, and nothing is written")
  func badOverride() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir)
    let r = try runProduct(["train", "--config", config, "--data-root", Self.root, "--out", dir + "/run",
                            "optimizer.lrr=0.02"])
    #expect(r.status == 2)
    #expect(r.stderr == "error: command line: optimizer.lrr: unknown key (did you mean 'lr'?)\n", "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
  }
}
