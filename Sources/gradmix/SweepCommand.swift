import ArgumentParser
import Foundation
import GradMixCore
import GradMixDistributed
import GradMixReports

/// `gradmix sweep`: a grid of training runs (methods × settings × seeds) as
/// child processes of this binary, several at a time, ending with the table.
struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Run a grid of trainings (methods × --set values × seeds) in parallel, then print the table.",
    discussion: """
      Each cell is `gradmix train` in its own process, writing OUT/<prefix><method>[-<key>=<value>...]-s<seed> \
      and its log beside it (.log). A cell whose summary.json exists is skipped, so re-running a sweep \
      only runs what is missing. A cell that was started but not finished (run.json without \
      summary.json) is continued from its newest checkpoint with --resume; without --resume the sweep \
      refuses to start and lists those cells (nothing is overwritten). Each run gets cores/--jobs BLAS \
      threads unless --threads says otherwise. Exit status: 0 when every cell finished, 1 otherwise.
      Example: gradmix sweep --config experiments/digits/config.yaml --methods uniform,gradmix \
      --seeds 1-3 --set optimizer.lr=0.01,0.02 --steps 200 --jobs 2 --out runs/lr-sweep
      """)

  @Option(help: "The YAML config every cell trains.")
  var config: String

  @Argument(help: ArgumentHelp("Overrides for every cell, KEY=VALUE (as for train).", valueName: "key=value"))
  var overrides: [String] = []

  @Option(help: "Methods, comma-separated. Default: the config's method.")
  var methods: String?

  @Option(help: "Seeds: a list and/or ranges, e.g. 1-5 or 1,3,7-9.")
  var seeds = "1"

  @Option(
    name: .customLong("set"), help: "A config key and its values, KEY=V1,V2 (repeatable; the grid is the product).")
  var sets: [String] = []

  @Option(help: "Trainings at once.")
  var jobs = 1

  @Option(help: "Output folder of the grid.")
  var out: String

  @Option(help: "Prefix of every run folder's name (e.g. digits-).")
  var prefix = ""

  @OptionGroup var shared: SharedRunOptions

  @Option(help: "The group the table compares every other group with (e.g. uniform).")
  var baseline: String?

  @Flag(help: "Continue cells that were started but not finished (from their newest checkpoint).")
  var resume = false

  @Flag(help: "Print the commands instead of running them.")
  var dryRun = false

  /// One cell of the grid.
  struct Cell {
    let name: String
    let method: String?
    let seed: Int
    let overrides: [String]
  }

  /// The most seeds one sweep takes. Choice: each seed is a training run per cell; far more is a
  /// typo (`1-100000000` was a Fatal error at 9.3 GB, issue #28), refused before anything is allocated.
  static let maxSeeds = 10_000

  static func parseSeeds(_ text: String) throws -> [Int] {
    var out: [Int] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let ends = part.split(separator: "-", omittingEmptySubsequences: false).map {
        Int($0.trimmingCharacters(in: .whitespaces))
      }
      if ends.count == 1, let a = ends[0], a >= 0 {
        out.append(a)
      } else if ends.count == 2, let a = ends[0], let b = ends[1], a >= 0, a <= b {
        guard b - a < maxSeeds - out.count else {
          throw ValidationError("--seeds: '\(part)' and the seeds before it are more than \(maxSeeds) seeds")
        }
        out += Array(a...b)
      } else {
        throw ValidationError("--seeds: '\(part)' is not a seed or a range A-B (e.g. 1-5 or 1,3,7-9)")
      }
      guard out.count <= maxSeeds else { throw ValidationError("--seeds: more than \(maxSeeds) seeds") }
    }
    guard !out.isEmpty else { throw ValidationError("--seeds: no seeds in '\(text)'") }
    return out
  }

  /// The grid: methods × the product of the --set values × seeds, in that nesting order.
  func cells() throws -> [Cell] {
    var combos: [[(String, String)]] = [[]]
    for s in sets {
      guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
        throw ValidationError("--set: '\(s)' must be KEY=V1,V2,... (e.g. optimizer.lr=0.01,0.02)")
      }
      let key = String(s[..<eq])
      let values = s[s.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
        throw ValidationError("--set: '\(s)' gives an empty value (KEY=V1,V2,...)")
      }
      combos = combos.flatMap { c in values.map { c + [(key, $0)] } }
    }
    let methodList: [String?] =
      methods.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0) } } ?? [nil]
    var out: [Cell] = []
    for m in methodList {
      for combo in combos {
        for seed in try Self.parseSeeds(seeds) {
          let tag = combo.map { "-\($0.0)=\($0.1)" }.joined()
            .map { "[]/ ".contains($0) ? "_" : $0 }.map(String.init).joined()
          out.append(
            Cell(
              name: "\(prefix)\(m ?? "default")\(tag)-s\(seed)", method: m, seed: seed,
              overrides: combo.map { "\($0.0)=\($0.1)" }))
        }
      }
    }
    return out
  }

  func validate() throws {
    guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    guard FileManager.default.fileExists(atPath: config) else { throw ValidationError("\(config): file not found") }
    _ = try Self.parseSeeds(seeds)
    try checkGrid()
  }

  /// The first line of every cell's log (how the sweep knows its own logs).
  static let logHeader = "# gradmix sweep cell: "

  /// Everything a cell could fail on that is known before any cell starts (issue #28): the
  /// methods, the --set keys and values (each combination is applied to the config as train
  /// would), --prefix, --out, and user files where the sweep writes.
  func checkGrid() throws {
    if let methods {
      let list = methods.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      for m in list where Method(rawValue: m) == nil { throw ValidationError("--methods: " + Method.unknownMessage(m)) }
      if let twice = list.first(where: { m in list.filter { $0 == m }.count > 1 }) {
        throw ValidationError("--methods: '\(twice)' is listed twice (its runs would share folders)")
      }
    }
    guard !prefix.contains("/"), prefix != ".", prefix != ".." else {
      throw ValidationError("--prefix: '\(prefix)' must be part of a folder name (no '/'): runs stay inside --out")
    }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue {
      throw ValidationError("--out: \(out) is a file, not a folder")
    }
    let grid = try cells()
    var combos: [[String]] = []
    for cell in grid where !combos.contains(cell.overrides) { combos.append(cell.overrides) }
    for combo in combos {
      do {
        _ = try TrainConfig.load(path: config, overrides: try (overrides + combo).map(ConfigOverride.init(parsing:)))
      } catch {
        throw ValidationError("\(combo.isEmpty ? "" : "--set \(combo.joined(separator: " ")): ")\(error)")
      }
    }
    // A cell's log that does not start with the sweep's first line is the user's: never overwrite it.
    for cell in grid {
      let log = out + "/" + cell.name + ".log"
      guard FileManager.default.fileExists(atPath: log) else { continue }
      let head = FileHandle(forReadingAtPath: log).flatMap { h -> Data? in
        defer { try? h.close() }
        return try? h.read(upToCount: Self.logHeader.utf8.count)
      }
      if head != Data(Self.logHeader.utf8) {
        throw ValidationError("--out: \(log) exists and is not a log of this sweep; move it or choose another --out")
      }
    }
  }

  func run() throws {
    let grid = try cells()
    let fm = FileManager.default
    if !dryRun { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) }  // --dry-run creates nothing
    let runThreads = shared.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
    var todo: [(Cell, [String])] = []
    var unfinished: [String] = []
    var skipped = 0
    for cell in grid {
      let dir = out + "/" + cell.name
      if fm.fileExists(atPath: dir + "/summary.json") { skipped += 1; continue }
      var args: [String]
      if fm.fileExists(atPath: dir + "/run.json") {
        unfinished.append(cell.name)
        args = ["train", "--resume", dir]  // --resume reuses the run's recorded --threads (it decides the arithmetic)
      } else {
        args = ["train", "--config", config, "--seed", String(cell.seed), "--out", dir]
        if let m = cell.method { args += ["--method", m] }
        if let steps = shared.steps { args += ["--steps", String(steps)] }
        args += overrides + cell.overrides
      }
      if let dataRoot = shared.dataRoot { args += ["--data-root", dataRoot] }
      if !args.contains("--resume") { args += ["--threads", String(runThreads)] }
      args += ["--quiet"]
      todo.append((cell, args))
    }
    if !unfinished.isEmpty && !resume {
      throw ValidationError(
        "\(out): \(unfinished.count) run(s) were started but not finished (\(unfinished.prefix(5).joined(separator: ", "))\(unfinished.count > 5 ? ", ..." : "")); continue them with --resume"
      )
    }
    let binary = Self.executablePath()
    printLine(
      "sweep: \(grid.count) run(s), \(skipped) already done, \(todo.count) to run (\(unfinished.count) resumed), \(jobs) at a time with \(runThreads) thread(s) each -> \(out)"
    )
    if dryRun {
      for (_, args) in todo { print(([binary] + args).map(Self.shellQuoted).joined(separator: " ")) }
      return
    }
    let stop = Interruption()
    stop.install()
    let failures = runAll(todo, binary: binary, stop: stop)
    if let sig = stop.signal {
      printError(
        "sweep: interrupted by \(sig == SIGTERM ? "SIGTERM" : "SIGINT"): running cells stopped at a checkpoint, no new ones started; continue with the same command and --resume"
      )
      throw ExitCode(75)
    }
    let table = try? ResultTable(
      runs: RunCollection.expand([out]).filter { r in grid.contains { $0.name == r.name } },
      keys: ["method"] + sets.compactMap { $0.split(separator: "=").first.map(String.init) },
      metric: "target_accuracy", baseline: baseline)
    if let table { print("\n" + table.markdown(), terminator: "") }
    if !failures.isEmpty {
      printError("sweep: \(failures.count) run(s) failed: \(failures.joined(separator: ", ")) (see their .log files)")
      throw ExitCode(1)
    }
  }

  /// The sweep's progress, shared with the termination handlers.
  final class Progress: @unchecked Sendable {
    let lock = NSLock()
    var failures: [String] = []
    var done = 0
    let total: Int
    let start = Date()
    init(total: Int) { self.total = total }

    /// Records one finished cell and returns its progress line.
    func finish(_ name: String, status: Int32?) -> String {
      lock.lock()
      defer { lock.unlock() }
      done += 1
      let ok = status == 0
      // 75: the cell stopped at a checkpoint on the sweep's SIGTERM; --resume continues it.
      if !ok && status != 75 { failures.append(name) }
      let what =
        ok
        ? "done"
        : status == 75
          ? "stopped at a checkpoint" : status.map { "FAILED (status \($0))" } ?? "FAILED (could not start)"
      return "  [\(done)/\(total), \(Int(Date().timeIntervalSince(start)))s] \(what) \(name)"
    }
  }

  /// SIGTERM/SIGINT to the sweep: no new cell starts, a SIGTERM is passed on to every running
  /// cell (each stops at a checkpoint and exits 75), and the sweep exits 75 once they have ended.
  /// Choice: SIGINT is not passed on: a terminal's Ctrl-C already reaches the cells (one process
  /// group), and a second signal would end them without a checkpoint.
  final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var running: [Process] = []
    private var sources: [DispatchSourceSignal] = []
    private(set) var signal: Int32?

    func install() {
      for sig in [SIGINT, SIGTERM] {
        Foundation.signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { [weak self] in self?.fire(sig) }
        source.resume()
        sources.append(source)
      }
    }

    var requested: Bool { lock.withLock { signal != nil } }

    private func fire(_ sig: Int32) {
      let children = lock.withLock { () -> [Process] in
        if signal == nil { signal = sig }
        return running
      }
      if sig == SIGTERM { for p in children where p.isRunning { kill(p.processIdentifier, SIGTERM) } }
    }

    /// Tracks a started cell (passing on a SIGTERM that came while it started).
    func add(_ p: Process) {
      let late = lock.withLock { () -> Bool in
        running.append(p)
        return signal == SIGTERM
      }
      if late { kill(p.processIdentifier, SIGTERM) }
    }

    func remove(_ p: Process) { lock.withLock { running.removeAll { $0 === p } } }
  }

  /// Runs every cell, `jobs` at a time (none after a SIGTERM/SIGINT); returns the names of those that failed.
  func runAll(_ todo: [(Cell, [String])], binary: String, stop: Interruption) -> [String] {
    let progress = Progress(total: todo.count)
    let slots = DispatchSemaphore(value: jobs)
    let group = DispatchGroup()
    for (cell, args) in todo {
      slots.wait()
      if stop.requested {
        slots.signal()
        break
      }
      group.enter()
      let logPath = out + "/" + cell.name + ".log"
      _ = FileManager.default.createFile(
        atPath: logPath, contents: Data((Self.logHeader + ([binary] + args).joined(separator: " ") + "\n").utf8))
      let log = FileHandle(forWritingAtPath: logPath)
      log?.seekToEndOfFile()  // after the header line
      let p = Process()
      p.executableURL = URL(fileURLWithPath: binary)
      p.arguments = args
      p.standardOutput = log
      p.standardError = log
      let name = cell.name
      p.terminationHandler = { proc in
        stop.remove(proc)
        printLine(progress.finish(name, status: proc.terminationStatus))
        try? log?.close()
        slots.signal()
        group.leave()
      }
      do {
        try p.run()
        stop.add(p)
      } catch {
        printLine(progress.finish(name, status: nil))
        slots.signal()
        group.leave()
      }
    }
    group.wait()
    return progress.failures
  }

  /// This binary's path (children run the same build).
  static func executablePath() -> String {
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
    let arg0 = CommandLine.arguments[0]
    return arg0.hasPrefix("/") ? arg0 : FileManager.default.currentDirectoryPath + "/" + arg0
  }

  static func shellQuoted(_ s: String) -> String {
    s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=,:".contains($0) })
      ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
