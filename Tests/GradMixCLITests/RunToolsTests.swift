import Foundation
import GradMixData
import GradMixEngine
import GradMixRecords
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

  @Test(
    "a 40-step run with optimizer.lr=0.02 writes the resolved config and its provenance; an explicit log_every is not scaled"
  )
  func overrideAndProvenance() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir)
    let r = try runProduct([
      "train", "--config", config, "--data-root", Self.root, "--out", dir + "/run", "--steps", "40",
      "--threads", "1", "optimizer.lr=0.02", "sources[1].limit=30", "log_every=4",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    // The start-up table lists the overrides and the keys scaled from 80 to 40 steps, never an override's.
    #expect(r.stdout.contains("overrides:  optimizer.lr=0.02 sources[1].limit=30 log_every=4"), "\(r.stdout)")
    #expect(!r.stdout.contains("log_every 4->"), "\(r.stdout)")
    #expect(r.stdout.contains("checkpoint_every 40->20") && r.stdout.contains("eval_every 10->5"), "\(r.stdout)")
    let resolved = try String(contentsOfFile: dir + "/run/config.resolved.yaml", encoding: .utf8)
    #expect(
      resolved.contains("lr: 0.02") && resolved.contains("limit: 30") && resolved.contains("steps: 40"), "\(resolved)")
    #expect(resolved.contains("eval_every: 5") && resolved.contains("momentum: 0.9"), "\(resolved)")
    #expect(resolved.contains("log_every: 4"), "\(resolved)")
    // config.yaml (what --resume reads) carries the overrides but not the scaling.
    let config2 = try String(contentsOfFile: dir + "/run/config.yaml", encoding: .utf8)
    #expect(config2.contains("lr: 0.02") && config2.contains("steps: 80"), "\(config2)")
    let run = try RobustRunTests.run(dir + "/run")
    // The key names on disk, which scripts read (provenance sits at run.json's top level).
    let keys = try #require(RecordCoding.read([String: JSONValue].self, path: dir + "/run/run.json")).keys
    for key in [
      "threads", "hostname", "version", "commit", "blas", "blas_core", "blas_core_reason", "conv_kernel", "mpi",
      "started_at", "dirty",
    ] {
      #expect(keys.contains(key), "run.json lacks \(key)")
    }
    #expect(run.provenance.threads == 1)
    #expect(run.provenance.mpi?.contains("MPI") == true)
    #expect(run.provenance.blas?.contains("OpenBLAS") == true)
    // The start-up table names the kernel set and why (issue 30), as run.json does.
    let core = run.provenance.blasCore ?? "?", reason = run.provenance.blasCoreReason ?? "?"
    #expect(r.stdout.contains("BLAS:       OpenBLAS core \(core) (\(reason)), 1 engine thread(s)"), "\(r.stdout)")
    #expect(run.provenance.convKernel == RowGemm.summary && r.stdout.contains("conv:       \(RowGemm.summary)"))
    let files = try #require(run.provenance.dataFiles)
    let mnist = try #require(files[Self.root + "/mnist/train-images-idx3-ubyte"])
    #expect(mnist == SHA256.hex(ofFile: Self.root + "/mnist/train-images-idx3-ubyte"))
    #expect(files.keys.contains { $0.hasPrefix(Self.root + "/photos/") })  // mnist-m blends photos
    let p = try #require(try MPITests.summary(dir + "/run").provenance)
    #expect(p.commit == run.provenance.commit)
    let meta = try Checkpoint.readMetadata(at: dir + "/run/final.safetensors")
    #expect(meta.extra["commit"] == run.provenance.commit && meta.extra["hostname"] != nil)
  }

  /// An override is the user's number for the run: `--steps` does not scale it, and neither does
  /// `--resume` (which scales the file's step keys again from config.yaml, where the override now
  /// sits); a scaled schedule warm-up would differ from the recorded one and refuse the resume.
  @Test("--resume of a --steps run keeps an explicit override unscaled, as the run had it")
  func resumeKeepsOverride() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir)  // 80 steps, checkpoint_every 40
    let first = try runProduct([
      "train", "--config", config, "--data-root", Self.root, "--out", dir + "/run", "--steps", "40",
      "--threads", "1", "--quiet", "--stop-after", "25", "optimizer.schedule={kind: cosine, warmup: 8}",
    ])
    #expect(first.status == 0, "\(first.stderr)")
    let resolved = try String(contentsOfFile: dir + "/run/config.resolved.yaml", encoding: .utf8)
    #expect(resolved.contains("warmup: 8"), "\(resolved)")
    let second = try runProduct(["train", "--resume", dir + "/run", "--threads", "1"])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stdout.contains("step 40/40") || FileManager.default.fileExists(atPath: dir + "/run/summary.json"))
    #expect(!second.stdout.contains("optimizer.schedule.warmup 8->"), "\(second.stdout)")
  }

  @Test("a bad override is one error line with exit status 2, and nothing is written")
  func badOverride() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir)
    let r = try runProduct([
      "train", "--config", config, "--data-root", Self.root, "--out", dir + "/run",
      "optimizer.lrr=0.02",
    ])
    #expect(r.status == 2)
    #expect(r.stderr == "error: command line: optimizer.lrr: unknown key (did you mean 'lr'?)\n", "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
  }

  @Test(
    "sweep runs the grid in parallel, skips finished cells, resumes unfinished ones; table, report and export read it")
  func sweepTableReport() throws {
    let dir = try Self.tempDir()
    let config = try Self.writeConfig(dir, steps: 12)
    let out = dir + "/sweep"
    let common = [
      "sweep", "--config", config, "--methods", "uniform,gradmix", "--seeds", "1-2", "--jobs", "2",
      "--out", out, "--data-root", Self.root, "--baseline", "uniform",
    ]
    // An unfinished cell: stopped after 4 of 12 steps (a checkpoint at step 4, no summary.json).
    let stopped = try runProduct([
      "train", "--config", config, "--method", "gradmix", "--seed", "2", "--out",
      out + "/gradmix-s2", "--data-root", Self.root, "--stop-after", "4", "--quiet",
      "checkpoint_every=2",
    ])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    let runJSON = try String(contentsOfFile: out + "/gradmix-s2/run.json", encoding: .utf8)
    let refused = try runProduct(common)
    #expect(refused.status == 2)
    #expect(refused.stderr.contains("gradmix-s2") && refused.stderr.contains("--resume"), "\(refused.stderr)")
    let r = try runProduct(common + ["--resume"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("4 run(s), 0 already done, 4 to run (1 resumed)"), "\(r.stdout)")
    #expect(r.stdout.contains("| gradmix | 2 |") && r.stdout.contains("(2 pairs)"), "\(r.stdout)")
    for cell in ["uniform-s1", "uniform-s2", "gradmix-s1", "gradmix-s2"] {
      #expect(FileManager.default.fileExists(atPath: out + "/\(cell)/summary.json"), "\(cell) did not finish")
    }
    // Continued, not restarted: run.json (written only at step 0) is the stopped run's.
    #expect(try String(contentsOfFile: out + "/gradmix-s2/run.json", encoding: .utf8) == runJSON)
    let again = try runProduct(common)
    #expect(again.status == 0 && again.stdout.contains("4 already done, 0 to run"), "\(again.stdout)")

    // The table's mean is the mean of the runs' summary.json values.
    let accuracies = try ["gradmix-s1", "gradmix-s2"].map {
      try #require(try MPITests.summary(out + "/\($0)").targetAccuracy)
    }
    let table = try runProduct(["table", out + "/gradmix-s1", out + "/gradmix-s2", "--format", "csv"])
    #expect(table.status == 0, "\(table.stderr)")
    let row = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("gradmix,") })
    let mean = try #require(Double(row.split(separator: ",")[2]))
    #expect(abs(mean - (accuracies[0] + accuracies[1]) / 2) < 1e-9)
    // The metric's name before issue #27 still selects it.
    let former = try runProduct(
      ["table", out + "/gradmix-s1", out + "/gradmix-s2", "--format", "csv", "--metric", "target_test_accuracy"])
    #expect(former.status == 0 && former.stdout == table.stdout, "\(former.stderr)")

    let report = try runProduct(["report", out, "--out", dir + "/report"])
    #expect(report.status == 0, "\(report.stderr)")
    let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
    #expect(html.components(separatedBy: "<svg ").count - 1 >= 2)
    #expect(html.contains("Target accuracy") && html.contains("gradmix-s2"))

    let export = try runProduct(["export", out + "/uniform-s1"])
    #expect(export.status == 0, "\(export.stderr)")
    let csv = try String(contentsOfFile: out + "/uniform-s1/metrics.csv", encoding: .utf8)
    let records = try String(contentsOfFile: out + "/uniform-s1/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n").filter { !$0.contains("\"event\"") }
    #expect(csv.split(separator: "\n").count == records.count + 1)
  }

  /// The repository root (for scripts and experiments).
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test(
    "the sbatch script's time-limit path: SIGTERM, checkpoint, requeue (exit 75), resume, finish; failed module load stops"
  )
  func slurmRequeue() throws {
    let r = try runProgram(
      "/bin/bash",
      [
        Self.repo + "/cluster/test-requeue.sh",
        productsDirectory().appendingPathComponent("gradmix").path,
      ])
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(r.stdout.contains("test-requeue: all passed"), "\(r.stdout)")
  }

  @Test("gradmix data synthesize covers every shipped config that reads data/raw")
  func synthesizeCoversConfigs() throws {
    let dir = try Self.tempDir()
    let s = try runProduct(["data", "synthesize", dir + "/data", "--per-class-train", "20"])
    #expect(s.status == 0, "\(s.stderr)")
    let experiments = try FileManager.default.contentsOfDirectory(atPath: Self.repo + "/experiments").sorted()
    var tried = 0
    for e in experiments {
      let config = Self.repo + "/experiments/\(e)/config.yaml"
      guard let text = try? String(contentsOfFile: config, encoding: .utf8), !text.contains("format:") else { continue }
      tried += 1
      // One step of a small model: the data of every source and the target is built.
      let r = try runProduct([
        "train", "--config", config, "--data-root", dir + "/data", "--out", dir + "/\(e)",
        "--steps", "1", "--quiet", "--threads", "1", "model.spec=conv4k5s2-relu-pool2-fc10",
        "target.unlabelled=50", "target.test=50",
      ])
      #expect(r.status == 0, "\(e): \(r.stderr)")
    }
    #expect(tried >= 4)
  }
}
