import Foundation
import GradMixTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Signals to a training process (issue #28, rows 2 and 5).
@Suite("Signals", .serialized)
struct SignalTests {
  /// Waits (at most 60 s) until `metrics` holds `count` records or `process` has ended.
  static func waitForRecords(_ metrics: String, _ count: Int, of process: Process) {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && process.isRunning {
      let text = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
      if text.split(separator: "\n").count >= count { break }
      usleep(20_000)
    }
  }

  /// A run with slow steps (batch 256 on 2 engine threads), so the signals land inside BLAS calls.
  static func start(_ dir: String, environment: [String: String] = [:]) throws -> (Process, Pipe) {
    let text = SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1)
      .replacingOccurrences(of: "batch_size: 10", with: "batch_size: 256")
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent("gradmix")
    process.arguments = [
      "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", dir + "/run", "--quiet",
      "--threads", "2",
    ]
    if !environment.isEmpty {
      var env = ProcessInfo.processInfo.environment
      for (k, v) in environment { env[k] = v }
      process.environment = env
    }
    let err = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    try process.run()
    waitForRecords(dir + "/run/metrics.jsonl", 2, of: process)
    return (process, err)
  }

  /// A C compiler, for the teardown probe.
  static let compiler: String? = ["/usr/bin/cc", "/usr/bin/clang", "/opt/swift/usr/bin/clang", "/usr/bin/gcc"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

  /// The segfault behind the second signal (issue #28, row 2) was the process's teardown (C and C++
  /// destructors, OpenBLAS's among them, run by `exit`) racing the engine threads still inside a BLAS
  /// call; it struck in 3 of 3 tries on the reporter's machine and never here, so this test watches
  /// the cause instead: a preloaded library's destructor leaves a file when the teardown runs. One
  /// signal: the run stops at a checkpoint and exits 75 through the normal teardown (the file
  /// appears, so the probe works). Two signals 100 ms apart: 143 with no teardown (no file).
  @Test(
    "the second signal ends the process without its teardown (the C destructors that raced BLAS); one signal keeps it",
    .enabled(if: compiler != nil))
  func secondSignalSkipsTeardown() throws {
    let dir = try makeTemporaryDirectory("gradmix-signal")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let source = """
      #include <fcntl.h>
      #include <stdlib.h>
      #include <unistd.h>
      __attribute__((destructor)) static void probe(void) {
        const char *p = getenv("GRADMIX_TEARDOWN_PROBE");
        if (p) { int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600); if (fd >= 0) close(fd); }
      }
      """
    try Data(source.utf8).write(to: URL(fileURLWithPath: dir + "/probe.c"))
    let cc = try runProgram(Self.compiler!, ["-shared", "-fPIC", "-o", dir + "/probe.so", dir + "/probe.c"])
    try #require(cc.status == 0, "\(cc.stderr)")
    for signals in [1, 2] {
      let run = dir + "/\(signals)"
      try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
      let probe = run + "/teardown-ran"
      let (process, err) = try Self.start(
        run, environment: ["LD_PRELOAD": dir + "/probe.so", "GRADMIX_TEARDOWN_PROBE": probe])
      #expect(process.isRunning)
      kill(process.processIdentifier, SIGTERM)
      if signals == 2 {
        usleep(100_000)
        kill(process.processIdentifier, SIGTERM)
      }
      let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationReason == .exit, "\(stderr)")
      if signals == 1 {
        #expect(process.terminationStatus == 75, "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: probe), "the probe did not run at a normal exit: \(stderr)")
      } else {
        #expect(process.terminationStatus == 143, "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: probe), "the second signal ran the teardown: \(stderr)")
      }
    }
  }

  /// The second SIGTERM/SIGINT, 0-200 ms after the first, ends the process at
  /// once with 128 + the signal and one line; it never crashes (it segfaulted
  /// inside OpenBLAS when the handler ran the process's teardown).
  @Test(
    "a second signal soon after the first ends the process promptly with 128+signal, never a crash",
    arguments: [(SIGTERM, 0), (SIGTERM, 50), (SIGTERM, 120), (SIGINT, 200), (SIGINT, 80)])
  func secondSignal(_ sig: Int32, delayMs: Int) throws {
    let dir = try makeTemporaryDirectory("gradmix-signal")
    let (process, err) = try Self.start(dir)
    #expect(process.isRunning)
    kill(process.processIdentifier, sig)
    if delayMs > 0 { usleep(useconds_t(delayMs * 1000)) }
    let sent = Date()
    kill(process.processIdentifier, sig)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let seconds = Date().timeIntervalSince(sent)
    #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus): \(stderr)")
    // 75: the first signal's checkpoint was written before the second arrived (a fast step); else 128+sig.
    #expect([128 + sig, 75].contains(process.terminationStatus), "status \(process.terminationStatus): \(stderr)")
    if process.terminationStatus == 128 + sig {
      #expect(stderr.contains("interrupted again: exiting now"), "\(stderr)")
      #expect(seconds < 2, "the second signal took \(seconds) s to end the process")
    }
    #expect(!stderr.contains("Fatal error") && !stderr.contains("Segmentation"), "\(stderr)")
  }

  /// SIGTERM/SIGINT to cluster/launch.sh (the documented mpirun launch path) on 3 ranks: every rank
  /// stops at the same step, the job writes a checkpoint, and the launcher exits 75 (mpirun alone exits 1).
  @Test(
    "a signal to cluster/launch.sh with 3 ranks: a checkpoint and exit 75, and --resume continues",
    .enabled(if: mpirunPath != nil, "mpirun is not installed"), arguments: [SIGTERM, SIGINT])
  func launcher(_ sig: Int32) throws {
    let dir = try makeTemporaryDirectory("gradmix-signal")
    let text = SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1)
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let (process, out) = try Self.launch([
      "--ranks", "3", "--oversubscribe", "--threads", "1", "--bin",
      productsDirectory().appendingPathComponent("gradmix").path, "--",
      "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", dir + "/run", "--quiet",
    ])
    Self.waitForRecords(dir + "/run/metrics.jsonl", 5, of: process)
    kill(process.processIdentifier, sig)
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 75, "\(output)")
    #expect(output.contains("interrupted: stopped after step"), "\(output)")
    let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/run/checkpoints")) ?? []
    #expect(checkpoints.contains { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }, "\(checkpoints)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/summary.json"))
    let resumed = try MPITests.mpi(3, "gradmix", ["train", "--resume", dir + "/run", "--stop-after", "60", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
  }

  /// Starts cluster/launch.sh with `arguments` and the MPI test environment; its stdout and
  /// stderr go to the returned pipe. env --default-signal: a shell cannot trap a signal ignored
  /// when it started (as under some test runners).
  static func launch(_ arguments: [String]) throws -> (Process, Pipe) {
    let script = productsDirectory().appendingPathComponent("../../../cluster/launch.sh").standardized.path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["--default-signal=TERM,INT", "bash", script] + arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in MPITests.env { env[k] = v }
    process.environment = env
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    return (process, out)
  }

  /// After a signal, mpirun SIGTERMs the ranks and SIGKILLs them `odls_base_sigkill_timeout` later
  /// (1 s by default): a rank still finishing its step and checkpoint was killed, and the launcher
  /// reported 75 with no checkpoint (`launcher` flaked so under load). A stand-in rank that takes
  /// 2 s after SIGTERM to write its marker must get to write it through cluster/launch.sh.
  @Test(
    "a signal to cluster/launch.sh leaves the ranks time to write their checkpoint (mpirun's 1 s SIGKILL)",
    .enabled(if: mpirunPath != nil, "mpirun is not installed"))
  func launcherGrace() throws {
    let dir = try makeTemporaryDirectory("gradmix-signal")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let rank = dir + "/rank.sh"
    try Data(
      """
      #!/bin/bash
      trap 'sleep 2; echo done > "\(dir)/marker-$OMPI_COMM_WORLD_RANK"; exit 75' TERM INT
      echo > "\(dir)/ready-$OMPI_COMM_WORLD_RANK"
      while true; do sleep 0.1; done

      """.utf8
    ).write(to: URL(fileURLWithPath: rank))
    #expect(chmod(rank, 0o755) == 0)
    let (process, out) = try Self.launch(["--ranks", "2", "--oversubscribe", "--bin", rank, "--", "train"])
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && process.isRunning
      && !(0..<2).allSatisfy({ FileManager.default.fileExists(atPath: dir + "/ready-\($0)") })
    {
      usleep(20_000)
    }
    kill(process.processIdentifier, SIGINT)
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 75, "\(output)")
    for r in 0..<2 {
      #expect(FileManager.default.fileExists(atPath: dir + "/marker-\(r)"), "rank \(r) was killed: \(output)")
    }
  }

  /// SIGTERM to `gradmix sweep`: the running cell gets it and stops at a checkpoint, no other cell
  /// starts, the sweep exits 75, and `--resume` continues the stopped cell (it orphaned its cells).
  @Test("SIGTERM to a sweep: passed on to the running cell, exit 75, resumable")
  func sweep() throws {
    let dir = try makeTemporaryDirectory("gradmix-signal")
    let text = SmallRunConfig.text(steps: 5000, evalEvery: 1000, logEvery: 1)
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let args = [
      "sweep", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", dir + "/sweep", "--seeds",
      "1-2",
      "--threads", "1",
    ]
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent("gradmix")
    process.arguments = args
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    Self.waitForRecords(dir + "/sweep/default-s1/metrics.jsonl", 3, of: process)
    kill(process.processIdentifier, SIGTERM)
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 75, "\(output)")
    let checkpoints =
      (try? FileManager.default.contentsOfDirectory(atPath: dir + "/sweep/default-s1/checkpoints")) ?? []
    #expect(checkpoints.contains { $0.hasPrefix("step-") }, "\(checkpoints) \(output)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/sweep/default-s2"), "a cell started after the signal")
    let resumed = try runProduct(args + ["--resume", "--dry-run"])
    #expect(resumed.status == 0 && resumed.stdout.contains("(1 resumed)"), "\(resumed.stdout)\(resumed.stderr)")
  }
}
