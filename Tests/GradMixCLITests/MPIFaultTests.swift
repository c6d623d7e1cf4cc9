import Foundation
import GradMixRecords
import GradMixTestSupport
import Testing

/// Faults of a multi-rank job under `mpirun` (issue #12): a diverging run
/// and a stopped rank end every rank with the documented status and one line.
@Suite("MPI faults", .serialized, .enabled(if: mpirunPath != nil, "mpirun is not installed"))
struct MPIFaultTests {
  @Test("lr 1e6 on 2 ranks: every rank stops, status 3, summary.json says diverged, the last finite checkpoint is kept")
  func divergenceUnderMPI() throws {
    let dir = try makeTemporaryDirectory("gradmix-mpi-div")
    try Data(RobustRunTests.config(steps: 30, lr: "1000000").utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try MPITests.mpi(
      2, "gradmix",
      [
        "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root,
        "--out", dir + "/run", "--quiet", "--threads", "1",
      ])
    #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1 && errors[0].contains("diverged since step"), "\(r.stderr)")
    // No rank was killed by MPI_Abort: both stopped on their own.
    #expect(!r.stderr.contains("MPI_ABORT") && !r.stderr.contains("exited on signal"), "\(r.stderr)")
    let s = try MPITests.summary(dir + "/run")
    #expect(s.status == "diverged")
    let since = try #require(s.divergedSinceStep)
    let kept = try FileManager.default.contentsOfDirectory(atPath: dir + "/run/checkpoints")
      .filter { $0.hasSuffix(".safetensors") }.sorted()
    let last = try #require(kept.last, "no checkpoint kept: \(s)")
    #expect(kept.allSatisfy { (Int($0.dropFirst(5).prefix(6)) ?? .max) < since }, "\(kept) since step \(since)")
    #expect(s.lastCheckpoint == "checkpoints/" + last)
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/final.safetensors"))
    let e = try runProduct([
      "eval", "--checkpoint", dir + "/run/checkpoints/" + last, "--config", dir + "/c.yaml",
      "--data-root", SmallRunConfig.root,
    ])
    #expect(e.status == 0, "the kept checkpoint is finite: \(e.stderr)")
  }

  /// A 3-rank job started with `--step-timeout 3` and stopped (as if killed)
  /// is resumed without the option; during the resumed job one worker gets
  /// SIGSTOP. The recorded timeout applies: the job ends with status 4 and
  /// one line naming the step rank 0 waits in and the stopped rank. (Where
  /// rank 2 stops, computing or waiting, depends on timing; either way it
  /// must be named, and only it.)
  @Test(
    "--step-timeout: a SIGSTOPped worker ends the (resumed) job with status 4 and one line naming the step and the rank"
  )
  func stoppedRank() throws {
    let dir = try makeTemporaryDirectory("gradmix-mpi-timeout")
    try Data(SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1, extra: ["checkpoint_every: 10"]).utf8)
      .write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let run = dir + "/run"
    let first = try MPITests.mpi(
      3, "gradmix",
      [
        "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root,
        "--out", run, "--quiet", "--threads", "1", "--check-every", "0",
        "--step-timeout", "3", "--stop-after", "12",
      ])
    #expect(first.status == 0, "\(first.stderr)")
    #expect(try RobustRunTests.run(run).stepTimeout == 3)

    let job = try #require(
      try Self.stop(
        rank: 2, afterStep: 14, of: ["train", "--resume", run, "--quiet", "--check-every", "0"],
        run: run))
    let stderr = job.stderr
    #expect(job.status == 4, "\(stderr)")
    #expect(job.seconds < 30, "ended \(job.seconds) s after the stop (timeout 3 s)")
    let errors = stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(stderr)")
    let line = String(try #require(errors.first))
    // Rank 0 waits in the step after the last one it logged (log_every 1, --check-every 0), or, after a
    // step that writes a checkpoint (every 10), in that checkpoint's gather, which belongs to the step logged.
    let last = try #require(Self.loggedSteps(run).last)
    let step = last % 10 == 0 && line.contains(" at step \(last) (in ") ? last : last + 1
    #expect(line.hasPrefix("error: step timeout: no progress for 3 s at step \(step) (in MPI_"), "\(line)")
    // Stopped while computing, it did not arrive; stopped while waiting in a collective, it fell silent there.
    // Rank 1 may be named as waiting in an earlier collective (held up by rank 2), never as to blame.
    let blamed = line.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { $0.hasSuffix("did not arrive") || $0.hasSuffix("stopped responding") }
    #expect(blamed == ["rank 2 did not arrive"] || blamed == ["rank 2 arrived but stopped responding"], "\(line)")
    #expect(!FileManager.default.fileExists(atPath: run + "/summary.json"))
  }

  /// Under the watchdog every collective is non-blocking and completed by polling; the arithmetic is
  /// the same, so each protocol's job is bit-identical to the one without the watchdog.
  @Test(
    "--step-timeout changes no result: 3 ranks, allreduce (g_T broadcast or recomputed) and --comm gather, bit-identical",
    arguments: [[], ["--target-gradient", "recompute"], ["--comm", "gather"]])
  func watchdogSameResult(_ protocolOptions: [String]) throws {
    let dir = try makeTemporaryDirectory("gradmix-mpi-same")
    try Data((MPITests.config + "\ncheckpoint_every: 12\n").utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let common =
      [
        "train", "--config", dir + "/c.yaml", "--data-root", MPITests.root, "--quiet", "--threads", "1",
        "--check-every", "6",
      ] + protocolOptions
    let plain = try MPITests.mpi(3, "gradmix", common + ["--out", dir + "/plain"])
    #expect(plain.status == 0, "\(plain.stderr)")
    let watched = try MPITests.mpi(3, "gradmix", common + ["--out", dir + "/watched", "--step-timeout", "120"])
    #expect(watched.status == 0, "\(watched.stderr)")
    let a = try MPITests.summary(dir + "/plain"), b = try MPITests.summary(dir + "/watched")
    for (key, field) in [
      ("params_l2", \RunSummary.paramsL2), ("target_loss", \RunSummary.targetLoss),
      ("target_accuracy", \RunSummary.targetAccuracy),
    ] {
      #expect(
        a[keyPath: field] != nil && a[keyPath: field] == b[keyPath: field],
        "\(key): \(String(describing: b[keyPath: field])) with the watchdog vs \(String(describing: a[keyPath: field]))"
      )
    }
  }

  /// With rank 0 stopped nobody knows who is missing: the lowest worker, whose patience ends first
  /// (1.5 × 3 + 2 = 6.5 s), ends the job with one line saying rank 0 did not.
  @Test("--step-timeout: a SIGSTOPped rank 0 is reported by rank 1, with status 4 and one line")
  func stoppedCoordinator() throws {
    let dir = try makeTemporaryDirectory("gradmix-mpi-timeout0")
    try Data(SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1).utf8).write(
      to: URL(fileURLWithPath: dir + "/c.yaml"))
    let job = try #require(
      try Self.stop(
        rank: 0, afterStep: 4,
        of: [
          "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", dir + "/run", "--quiet",
          "--threads", "1", "--check-every", "0", "--step-timeout", "3",
        ], run: dir + "/run"))
    #expect(job.status == 4, "\(job.stderr)")
    #expect(job.seconds < 30, "ended \(job.seconds) s after the stop (timeout 3 s)")
    let errors = job.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(job.stderr)")
    let line = String(try #require(errors.first))
    #expect(line.hasPrefix("error: step timeout: no progress for 6.5 s at step "), "\(line)")
    #expect(
      line.hasSuffix(
        " on rank 1 of 3; rank 0 did not end the job first, so rank 0 itself is stopped or slower than the timeout"),
      "\(line)")
  }

  /// On 5 ranks, the two sources and the target as a source take ranks 1–4, so one source is split
  /// over two ranks whose shards the default rule sums in a group collective each step. When one of
  /// them stops, the other waits in that group collective: it must still count as alive (its reports go
  /// on), so that only the stopped rank is blamed.
  @Test("--step-timeout on 5 ranks: a stopped member of a shard group is the only rank blamed")
  func stoppedGroupMember() throws {
    let dir = try makeTemporaryDirectory("gradmix-mpi-timeout-group")
    try Data(SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1).utf8).write(
      to: URL(fileURLWithPath: dir + "/c.yaml"))
    let run = dir + "/run"
    // run.json is written before the first step; its sources list the split source's shards.
    let job = try #require(
      try Self.stop(
        rank: 4, afterStep: 4,
        of: [
          "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", run, "--quiet",
          "--threads", "1", "--check-every", "0", "--step-timeout", "3",
        ], run: run, ranks: 5))
    let sources = try #require(try RobustRunTests.run(run).sources)
    let shardRanks = sources.compactMap(\.shards).map { $0.map(\.rank) }
    #expect(shardRanks == [[3, 4]], "the placement this test relies on: \(sources)")
    #expect(job.status == 4, "\(job.stderr)")
    let errors = job.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(job.stderr)")
    let line = String(try #require(errors.first))
    let blamed = line.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { $0.hasSuffix("did not arrive") || $0.hasSuffix("stopped responding") }
    #expect(blamed == ["rank 4 did not arrive"] || blamed == ["rank 4 arrived but stopped responding"], "\(line)")
  }

  /// A job stopped by ``stop(rank:afterStep:of:run:ranks:sourceLocation:)``: its exit status, the seconds from the stop to its
  /// end, and its stderr.
  struct StoppedJob {
    let status: Int32
    let seconds: Double
    let stderr: String
  }

  /// Runs `mpirun -np <ranks> gradmix <arguments>`, sends SIGSTOP to `rank` once `run`/metrics.jsonl has
  /// reached `afterStep`, and waits (at most 60 s) for the job to end; nil (with an issue recorded) if it
  /// does not. No process of the job is left behind, stopped or not.
  static func stop(
    rank: Int, afterStep: Int, of arguments: [String], run: String, ranks worldSize: Int = 3,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> StoppedJob? {
    let job = Process()
    job.executableURL = URL(fileURLWithPath: try #require(mpirunPath))
    job.arguments =
      ["-np", "\(worldSize)", "--oversubscribe", productsDirectory().appendingPathComponent("gradmix").path] + arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in MPITests.env { env[k] = v }
    job.environment = env
    let errPath = run + ".stderr"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    job.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    job.standardOutput = FileHandle.nullDevice
    try job.run()
    var ranks: [Int: Int32] = [:]
    defer {  // never leave a stopped rank behind
      for pid in ranks.values { kill(pid, SIGCONT); kill(pid, SIGKILL) }
      if job.isRunning { job.terminate() }
    }
    var deadline = Date().addingTimeInterval(120)
    while Date() < deadline && job.isRunning && loggedSteps(run).last ?? 0 < afterStep { usleep(20_000) }
    ranks = Self.ranks(of: job.processIdentifier)
    let pid = try #require(
      ranks[rank], "rank \(rank)'s process among the children of mpirun: \(ranks)",
      sourceLocation: sourceLocation)
    #expect(kill(pid, SIGSTOP) == 0, sourceLocation: sourceLocation)
    let stopped = Date()
    deadline = stopped.addingTimeInterval(60)
    while Date() < deadline && job.isRunning { usleep(50_000) }
    guard !job.isRunning else {
      Issue.record("the job still runs 60 s after rank \(rank) was stopped", sourceLocation: sourceLocation)
      return nil
    }
    return StoppedJob(
      status: job.terminationStatus, seconds: Date().timeIntervalSince(stopped),
      stderr: try String(contentsOfFile: errPath, encoding: .utf8))
  }

  /// The steps in `run`/metrics.jsonl, in order.
  static func loggedSteps(_ run: String) -> [Int] {
    let text = (try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap {
      RecordCoding.decode(MetricsEvent.self, from: Data($0.utf8))?.step
    }
  }

  /// The MPI rank of each child of `parent` (from OMPI_COMM_WORLD_RANK in its environment).
  static func ranks(of parent: Int32) -> [Int: Int32] {
    var found: [Int: Int32] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
      guard let pid = Int32(entry),
        let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { continue }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 2, Int32(fields[1]) == parent,
        let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
      else { continue }
      for variable in environ.split(separator: 0) {
        let text = String(decoding: variable, as: UTF8.self)
        if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst("OMPI_COMM_WORLD_RANK=".count)) {
          found[rank] = pid
        }
      }
    }
    return found
  }
}
