import Foundation
import GradMixData
import GradMixRecords
import GradMixTestSupport
import Testing

/// The `mpirun` of the machine, if any.
let mpirunPath: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
  FileManager.default.isExecutableFile(atPath: $0)
}

/// Multi-rank runs under `mpirun` (installed by scripts/setup.sh; skipped where it is missing).
@Suite("MPI runs", .serialized, .enabled(if: mpirunPath != nil, "mpirun is not installed"))
struct MPITests {
  static var mpirun: String? { mpirunPath }
  static let env = [
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1",
  ]
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  static let config = """
    model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
    classes: 10
    steps: 24
    batch_size: 10
    sources:
      - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}
      - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}
    target: {domain: mnist-m, split: test, labelled_per_class: 3, unlabelled: 150, test: 200}
    optimizer: {lr: 0.05, momentum: 0.9, weight_decay: 0.0005, schedule: {kind: cosine, warmup: 3}}
    pseudo_labels: {warmup: 8, every: 6, threshold: 0.3, per_class_cap: 10}
    eval_every: 12
    log_every: 6
    """

  static func tempDir() throws -> String { try makeTemporaryDirectory("gradmix-mpi") }

  static func mpi(_ ranks: Int, _ product: String, _ args: [String]) throws -> ProcessResult {
    let exe = productsDirectory().appendingPathComponent(product).path
    return try runProgram(mpirun!, ["-np", "\(ranks)", "--oversubscribe", exe] + args, environment: env)
  }

  static func summary(_ dir: String) throws -> RunSummary {
    try #require(RecordCoding.read(RunSummary.self, path: dir + "/summary.json"), "\(dir)/summary.json")
  }

  @Test("every collective of MPICommunicator on 3 ranks, blocking and under the step watchdog")
  func selftest() throws {
    let r = try Self.mpi(3, "gradmix-mpi-selftest", [])
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(!r.stdout.contains("FAIL") && r.stdout.contains("ok   allreduceSum(Float)"), "\(r.stdout)")
    #expect(r.stdout.contains("ok   gather (unequal lengths) to rank 0, under the step watchdog"), "\(r.stdout)")
    #expect(r.stdout.contains("ok   barrier, under the step watchdog"), "\(r.stdout)")
  }

  /// The same config and seed give the same model on 1, 2 and 3 ranks, with
  /// either mixing protocol and either way of getting the target gradient.
  @Test("1 process, 3 ranks, 2 ranks with the coordinator owning a source, gather, recompute: same model")
  func equivalence() throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    try Data(Self.config.utf8).write(to: URL(fileURLWithPath: cfg))
    let common = [
      "train", "--config", cfg, "--data-root", Self.root, "--quiet", "--threads", "1", "--check-every", "6",
    ]
    let single = try runProduct(common + ["--out", dir + "/single"])
    #expect(single.status == 0, "\(single.stderr)")
    let reference = try Self.summary(dir + "/single")
    let variants: [(String, Int, [String])] = [
      ("np3", 3, []), ("np2-coordinator-owns", 2, ["--coordinator-owns-sources"]),
      ("np3-gather", 3, ["--comm", "gather"]), ("np3-recompute", 3, ["--target-gradient", "recompute"]),
    ]
    for (name, n, extra) in variants {
      let r =
        n == 1
        ? try runProduct(common + ["--out", dir + "/" + name] + extra)
        : try Self.mpi(n, "gradmix", common + ["--out", dir + "/" + name] + extra)
      #expect(r.status == 0, "\(name): \(r.stderr)")
      let s = try Self.summary(dir + "/" + name)
      #expect(s.worldSize == n)
      for (key, field) in [("params_l2", \RunSummary.paramsL2), ("target_loss", \RunSummary.targetLoss)] {
        let a = try #require(reference[keyPath: field]), b = try #require(s[keyPath: field])
        #expect(abs(a - b) <= 1e-4 * abs(a), "\(name): \(key) \(b) vs single process \(a)")
        // The gather protocol adds the sources in the one-process order: bit-identical.
        if extra.contains("gather") {
          #expect(a == b, "\(name): \(key) \(b) is not bit-identical to \(a)")
        }
      }
    }
  }

  @Test("a rank that cannot read its data ends the whole job with one message before training")
  func rankFailsToLoad() throws {
    let dir = try Self.tempDir()
    let broken = dir + "/data"
    try FileManager.default.copyItem(atPath: Self.root, toPath: broken)
    // Rank 2 owns syndigits[5-9]; truncate its images file.
    let images = broken + "/syndigits/train-images-idx4-ubyte"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: images))
    try bytes.prefix(1000).write(to: URL(fileURLWithPath: images))
    let cfg = dir + "/c.yaml"
    try Data(Self.config.utf8).write(to: URL(fileURLWithPath: cfg))
    let r = try Self.mpi(
      3, "gradmix", ["train", "--config", cfg, "--data-root", broken, "--quiet", "--out", dir + "/run"])
    #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errors.count == 1, "\(r.stderr)")
    #expect(
      errors.first?.contains("rank 2 of 3") == true && errors.first?.contains("train-images-idx4-ubyte") == true,
      "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/summary.json"))
  }

  /// The test config without the target as a source and without pseudo-labels: two sources only.
  static let twoSources = config.replacingOccurrences(
    of: "labelled_per_class: 3,", with: "labelled_per_class: 3, as_source: false,")

  /// The class cosines (K·C² + K·C + C doubles) ride in the statistics
  /// allreduce only when the rule reads them (`weighting.label_match`).
  @Test("2 ranks: the statistics exchange carries the class cosines only with label_match on")
  func classCosinesOnlyWhenRead() throws {
    let dir = try Self.tempDir()
    func allreduceBytes(_ match: Bool) throws -> (bytes: Int, sources: Int) {
      let cfg = dir + "/\(match).yaml"
      try Data(Self.twoSources.replacingOccurrences(of: "steps: 24", with: "steps: 6").utf8)
        .write(to: URL(fileURLWithPath: cfg))
      let out = dir + "/\(match)"
      let r = try Self.mpi(
        2, "gradmix",
        ["train", "--config", cfg, "--data-root", Self.root, "--quiet", "--out", out, "weighting.label_match=\(match)"])
      try #require(r.status == 0, "\(r.stdout)\(r.stderr)")
      let s = try Self.summary(out)
      return (try #require(s.collectives?["allreduce"]).bytesSent, try #require(s.sources).count)
    }
    let on = try allreduceBytes(true), off = try allreduceBytes(false)
    let (k, c) = (on.sources, 10)
    #expect(k >= 2 && off.sources == k)
    // Everything else in the allreduce (the mixed gradient, the statistics' other fields) is the same size;
    // 6 steps, 8-byte doubles, K sources as summary.json lists them (the pseudo-label source among them).
    #expect(
      on.bytes - off.bytes == 6 * 8 * (k * c * c + k * c + c), "allreduce bytes: \(on.bytes) on, \(off.bytes) off")
  }

  @Test("more ranks than even split batches can use is refused with one message")
  func idleRanks() throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    // Two sources of 2 rows: at most 4 shards, so at most 5 ranks are busy.
    try Data(Self.twoSources.replacingOccurrences(of: "batch_size: 10", with: "batch_size: 2").utf8)
      .write(to: URL(fileURLWithPath: cfg))
    let r = try Self.mpi(
      6, "gradmix",
      [
        "train", "--config", cfg, "--data-root", Self.root, "--quiet", "--method",
        "gated-pcgrad-no-pl", "--out", dir + "/run",
      ])
    #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errors.count == 1 && errors[0].contains("cannot keep 6 ranks busy"), "\(r.stderr)")
  }

  /// More ranks than sources: 4 and 5 ranks on two sources (with the target
  /// as a source and pseudo-labels: 4 sources; without: 2 sources whose
  /// batches are split over 3 and 4 workers, `gated-pcgrad-no-pl` without the label
  /// gate, whose dot products add up over shards without a group sum) train the one-process model
  /// (1 thread each) within 1e-5 in params_l2 and 1e-3 in test loss over 20 steps.
  @Test("4 and 5 ranks on 2 sources, whole or split batches: the one-process model", arguments: [false, true])
  func moreRanksThanSources(split: Bool) throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    try Data((split ? Self.twoSources : Self.config).utf8).write(to: URL(fileURLWithPath: cfg))
    let common =
      [
        "train", "--config", cfg, "--data-root", Self.root, "--quiet", "--threads", "1", "--steps", "20",
        "--check-every", "5",
      ] + (split ? ["--method", "gated-pcgrad-no-pl", "weighting.label_gate=false"] : [])
    let single = try runProduct(common + ["--out", dir + "/single"])
    #expect(single.status == 0, "\(single.stderr)")
    let reference = try Self.summary(dir + "/single")
    for n in [4, 5] {
      let r = try Self.mpi(n, "gradmix", common + ["--out", dir + "/np\(n)"])
      #expect(r.status == 0, "np \(n): \(r.stderr)")
      let s = try Self.summary(dir + "/np\(n)")
      #expect(s.worldSize == n)
      let a = try #require(reference.paramsL2), b = try #require(s.paramsL2)
      #expect(abs(a - b) <= 1e-5, "np \(n): params_l2 \(b) vs one process \(a)")
      let x = try #require(reference.targetLoss), y = try #require(s.targetLoss)
      #expect(abs(x - y) <= 1e-3, "np \(n): test loss \(y) vs one process \(x)")
      // Every rank computes something; with two sources their batches are split.
      let sources = try #require(s.sources)
      let ranks = Set(sources.flatMap(\.ranks))
      #expect(ranks.union([0]) == Set(0..<n), "np \(n): placement \(sources)")
      #expect(sources.contains { $0.shards != nil } == split, "np \(n): placement \(sources)")
    }
  }

  /// The ranks of each step's `group_allreduce` in a run's per-rank traces
  /// (`--trace`): every step of a rank that sums a split source's shards.
  static func groupRanks(trace: String, ranks: Int) throws -> Set<Int> {
    var found: Set<Int> = []
    for r in 0..<ranks {
      let lines = try String(contentsOfFile: trace + ".rank-\(r).jsonl", encoding: .utf8).split(separator: "\n")
      let calls = lines.map { line -> Int in
        let rec = RecordCoding.decode(TraceLine.self, from: Data(line.utf8))
        return rec?.collectives?["group_allreduce"]?.calls ?? 0
      }
      if calls.contains(where: { $0 > 0 }) {
        #expect(calls.allSatisfy { $0 > 0 }, "rank \(r): group sums in some steps only: \(calls)")
        found.insert(r)
      }
    }
    return found
  }

  /// The collectives of one line of a `--trace` file.
  struct TraceLine: Decodable {
    let collectives: [String: CollectiveRecord]?
  }

  /// The ranks of the split sources in summary.json.
  static func splitRanks(_ summary: RunSummary) -> Set<Int> {
    Set((summary.sources ?? []).flatMap { ($0.shards ?? []).map(\.rank) })
  }

  /// The default method (`gated-pcgrad`: label scores, which need whole source
  /// gradients) on experiments/digits (2 sources, the target as
  /// a source, pseudo-labels: 4 sources) on 4, 5 and 6 ranks, batches split
  /// where ranks outnumber the sources, trains the one-process model
  /// (1 thread each) within 1e-5 in params_l2 and 1e-3 in test loss over 20
  /// steps. The shards of a split source are summed in their group each
  /// step (`group_allreduce` on exactly the split sources' ranks).
  @Test("experiments/digits, default method, on 4, 5 and 6 ranks (split batches): the one-process model")
  func defaultMethodOnDigits() throws {
    let dir = try Self.tempDir()
    let cfg = productsDirectory().appendingPathComponent("../../../experiments/digits/config.yaml").standardized.path
    // The synthetic root has 400 target test images: a smaller target split, the same model and batches.
    let common = [
      "train", "--config", cfg, "--data-root", Self.root, "--quiet", "--threads", "1", "--steps", "20",
      "--check-every", "5", "target.unlabelled=100", "target.test=200",
    ]
    let single = try runProduct(common + ["--out", dir + "/single"])
    #expect(single.status == 0, "\(single.stderr)")
    let reference = try Self.summary(dir + "/single")
    var splitSeen = false
    for n in [4, 5, 6] {
      let r = try Self.mpi(n, "gradmix", common + ["--out", dir + "/np\(n)", "--trace", dir + "/trace-np\(n).jsonl"])
      #expect(r.status == 0, "np \(n): \(r.stderr)")
      let s = try Self.summary(dir + "/np\(n)")
      #expect(s.worldSize == n && s.method == "gated-pcgrad")
      let a = try #require(reference.paramsL2), b = try #require(s.paramsL2)
      #expect(abs(a - b) <= 1e-5, "np \(n): params_l2 \(b) vs one process \(a)")
      let x = try #require(reference.targetLoss), y = try #require(s.targetLoss)
      #expect(abs(x - y) <= 1e-3, "np \(n): test loss \(y) vs one process \(x)")
      let split = Self.splitRanks(s)
      splitSeen = splitSeen || !split.isEmpty
      #expect(try Self.groupRanks(trace: dir + "/trace-np\(n)", ranks: n) == split, "np \(n): \(s.sources ?? [])")
    }
    #expect(splitSeen, "no layout split a batch: the test does not cover the group sum")
  }

  /// Other rules on whole-source norms with split batches (two sources on
  /// 4 and 5 ranks): TAWT and cosine with the gather protocol train the
  /// one-process model; a dot-product run (the paper's rule) forms no group.
  @Test("tawt, cosine with --comm gather, on split batches: the one-process model")
  func normRulesWithShards() throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    // Without pseudo-labels: two sources on 3 and 4 workers, so their batches are split.
    let config = Self.twoSources.replacingOccurrences(
      of: "pseudo_labels: {warmup: 8, every: 6, threshold: 0.3, per_class_cap: 10}\n", with: "")
    #expect(config != Self.twoSources)
    try Data(config.utf8).write(to: URL(fileURLWithPath: cfg))
    let variants: [(name: String, config: String, ranks: Int, args: [String], groups: Bool)] = [
      ("tawt", cfg, 4, ["--method", "tawt", "--quiet"], true),
      ("cosine-gather", cfg, 5, ["--method", "cosine", "--comm", "gather", "--quiet"], true),
      ("dot", cfg, 4, ["--method", "gradmix", "--quiet"], false),
    ]
    for v in variants {
      let common =
        [
          "train", "--config", v.config, "--data-root", Self.root, "--threads", "1", "--steps", "20",
          "--check-every", "5",
        ] + v.args
      let single = try runProduct(common + ["--out", dir + "/single-" + v.name])
      #expect(single.status == 0, "\(v.name): \(single.stderr)")
      let reference = try Self.summary(dir + "/single-" + v.name)
      let r = try Self.mpi(
        v.ranks, "gradmix", common + ["--out", dir + "/" + v.name, "--trace", dir + "/trace-" + v.name + ".jsonl"])
      #expect(r.status == 0, "\(v.name): \(r.stderr)")
      let s = try Self.summary(dir + "/" + v.name)
      let a = try #require(reference.paramsL2), b = try #require(s.paramsL2)
      #expect(abs(a - b) <= 1e-5, "\(v.name): params_l2 \(b) vs one process \(a)")
      let x = try #require(reference.targetLoss), y = try #require(s.targetLoss)
      #expect(abs(x - y) <= 1e-3, "\(v.name): test loss \(y) vs one process \(x)")
      let split = Self.splitRanks(s)
      #expect(!split.isEmpty, "\(v.name): no batch split: \(s.sources ?? [])")
      #expect(
        try Self.groupRanks(trace: dir + "/trace-" + v.name, ranks: v.ranks) == (v.groups ? split : []), "\(v.name)")
    }
  }

  /// cluster/launch.sh with a two-slot hostfile on localhost and TCP only
  /// (traffic as between nodes) trains the same model as one process.
  @Test("cluster/launch.sh: two-slot localhost hostfile over TCP gives the one-process model")
  func launchScript() throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    try Data(Self.config.utf8).write(to: URL(fileURLWithPath: cfg))
    try Data("localhost slots=2\n".utf8).write(to: URL(fileURLWithPath: dir + "/hosts"))
    let common = ["train", "--config", cfg, "--data-root", Self.root, "--quiet", "--coordinator-owns-sources"]
    let single = try runProduct(common + ["--out", dir + "/single"])
    #expect(single.status == 0, "\(single.stderr)")
    let script = productsDirectory().appendingPathComponent("../../../cluster/launch.sh").standardized.path
    let r = try runProgram(
      "/bin/bash",
      [
        script, "--ranks", "2", "--hostfile", dir + "/hosts", "--transport", "tcp",
        "--threads", "1", "--bin", productsDirectory().appendingPathComponent("gradmix").path,
        "--",
      ] + common + ["--out", dir + "/tcp"], environment: Self.env)
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    let a = try Self.summary(dir + "/single"), b = try Self.summary(dir + "/tcp")
    #expect(b.worldSize == 2)
    let x = try #require(a.paramsL2), y = try #require(b.paramsL2)
    #expect(abs(x - y) <= 1e-4 * abs(x), "params_l2 \(y) over TCP vs \(x) in one process")
  }

  /// A run stopped (as if killed) and resumed from its newest checkpoint ends bit-identical to an
  /// uninterrupted run, with the same `--threads`: in one process and on 3 ranks (the coordinator
  /// writes; every rank reads), resumed from a checkpoint before the first pseudo-labelling round
  /// (step 4; rounds at 8, 14, 20), at it (step 8) and after two (step 16) (issue #28).
  @Test(
    "checkpoint and resume give the uninterrupted run's model: 1 process and 3 ranks, 1 and 2 threads, before and after a pseudo-label round",
    arguments: [(1, 1, 5), (1, 1, 17), (1, 2, 11), (3, 1, 5), (3, 1, 17), (3, 2, 11)])
  func resume(_ ranks: Int, _ threads: Int, _ stopAfter: Int) throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    try Data((Self.config + "\ncheckpoint_every: 4\n").utf8).write(to: URL(fileURLWithPath: cfg))
    func train(_ args: [String]) throws -> ProcessResult {
      let all = args + ["--data-root", Self.root, "--quiet"]
      return ranks == 1 ? try runProduct(all) : try Self.mpi(ranks, "gradmix", all)
    }
    let straight = try train(["train", "--config", cfg, "--out", dir + "/straight", "--threads", "\(threads)"])
    #expect(straight.status == 0, "\(straight.stderr)")
    let stopped = try train([
      "train", "--config", cfg, "--out", dir + "/resumed", "--threads", "\(threads)", "--stop-after", "\(stopAfter)",
    ])
    #expect(stopped.status == 0, "\(stopped.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/resumed/summary.json"))
    // Without --threads: the resumed run takes them from run.json.
    let resumed = try train(["train", "--resume", dir + "/resumed"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = try Self.summary(dir + "/straight"), b = try Self.summary(dir + "/resumed")
    #expect(
      a.paramsL2 == b.paramsL2,
      "params_l2 \(String(describing: b.paramsL2)) vs \(String(describing: a.paramsL2))")
    #expect(a.targetLoss == b.targetLoss)
    #expect(a.targetAccuracy == b.targetAccuracy)
    // The resumed run's metrics hold each step once, and the pseudo-label rounds happened.
    let records = try String(contentsOfFile: dir + "/resumed/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { RecordCoding.decode(MetricsEvent.self, from: Data($0.utf8)) }  // a step line has no `event`
    let logged = records.filter { $0.event == nil }.compactMap(\.step).filter { $0 % 6 == 0 }
    #expect(logged == Array(Set(logged)).sorted(), "duplicate or unordered steps: \(logged)")
    let rounds = records.filter { $0.event == "pseudo_labels" }.compactMap(\.step)
    #expect(rounds == Array(Set(rounds)).sorted() && rounds.count >= 2, "pseudo-label rounds at \(rounds)")
  }

  /// kill -9 of every process of a 3-rank job at a random step, then
  /// `mpirun -np 3 gradmix train --resume`: bit-identical to the uninterrupted job.
  @Test("SIGKILL of a 3-rank job and --resume under mpirun: the same final parameters")
  func sigkillUnderMPI() throws {
    let dir = try Self.tempDir()
    let cfg = dir + "/c.yaml"
    try Data((Self.config.replacingOccurrences(of: "steps: 24", with: "steps: 48") + "\ncheckpoint_every: 4\n").utf8)
      .write(to: URL(fileURLWithPath: cfg))
    let common = ["train", "--config", cfg, "--data-root", Self.root, "--quiet", "--threads", "1"]
    let straight = try Self.mpi(3, "gradmix", common + ["--out", dir + "/straight"])
    #expect(straight.status == 0, "\(straight.stderr)")
    let job = Process()
    job.executableURL = URL(fileURLWithPath: Self.mpirun!)
    job.arguments =
      ["-np", "3", "--oversubscribe", productsDirectory().appendingPathComponent("gradmix").path]
      + common + ["--out", dir + "/killed"]
    var env = ProcessInfo.processInfo.environment
    for (k, v) in Self.env { env[k] = v }
    job.environment = env
    job.standardOutput = FileHandle.nullDevice
    job.standardError = FileHandle.nullDevice
    try job.run()
    let records = 3 + Int.random(in: 0..<5)
    let deadline = Date().addingTimeInterval(90)
    while Date() < deadline && job.isRunning {
      let text = (try? String(contentsOfFile: dir + "/killed/metrics.jsonl", encoding: .utf8)) ?? ""
      if text.split(separator: "\n").count >= records { break }
      usleep(20_000)
    }
    _ = try runProgram("/usr/bin/pkill", ["-9", "-f", "--", "--out \(dir)/killed"])
    job.waitUntilExit()
    #expect(!FileManager.default.fileExists(atPath: dir + "/killed/summary.json"), "the job finished before the kill")
    let resumed = try Self.mpi(3, "gradmix", ["train", "--resume", dir + "/killed", "--threads", "1"])
    #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
    let a = try Self.summary(dir + "/straight"), b = try Self.summary(dir + "/killed")
    #expect(a.paramsL2 == b.paramsL2)
    #expect(a.targetLoss == b.targetLoss)
  }
}
