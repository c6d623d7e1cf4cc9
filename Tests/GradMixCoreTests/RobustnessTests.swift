import Foundation
import GradMixData
import GradMixEngine
import GradMixRecords
import Testing

@testable import GradMixCore

/// The small types behind issue #12 (divergence, memory, fingerprints, output folders, log writes).
@Suite("Robustness")
struct RobustnessTests {
  // MARK: - DivergenceMonitor

  @Test("non-finite parameters: diverged at once")
  func nonFiniteParameters() {
    var m = DivergenceMonitor()
    #expect(m.observe(step: 1, losses: [2.3], parametersFinite: true) == nil)
    let v = m.observe(step: 2, losses: [2.2], parametersFinite: false)
    #expect(v?.since == 2)
  }

  @Test("NaN losses or a loss far above its start: diverged after 3 bad steps in a row, since the first")
  func badLosses() {
    var m = DivergenceMonitor()
    #expect(m.observe(step: 1, losses: [2.3, 2.4], parametersFinite: true) == nil)
    #expect(m.observe(step: 2, losses: [.nan, .nan], parametersFinite: true) == nil)
    #expect(m.observe(step: 3, losses: [2.0], parametersFinite: true) == nil)  // recovered: the count restarts
    #expect(m.observe(step: 4, losses: [.nan], parametersFinite: true) == nil)
    #expect(m.observe(step: 5, losses: [1e6], parametersFinite: true) == nil)
    let v = m.observe(step: 6, losses: [.infinity], parametersFinite: true)
    #expect(v?.since == 4)
  }

  @Test("one source with a NaN loss among finite ones, or a spike below 10x: not divergence")
  func healthy() {
    var m = DivergenceMonitor()
    for t in 1...20 {
      #expect(
        m.observe(step: t, losses: [t % 3 == 0 ? .nan : 2.3, 2.3 + Double(t % 4)], parametersFinite: true) == nil)
    }
  }

  // MARK: - MemoryEstimate

  @Test("the estimate counts parameters per buffer and grows with batch and threads")
  func memoryEstimate() throws {
    let model = try Sequential(spec: "conv6k5s2-relu-pool2-fc24-relu-fc10", inputShape: Shape([3, 28, 28]), threads: 1)
    let e = MemoryEstimate(model: model, localSources: 2, batch: 10, threads: 1)
    #expect(e.parameterBytes == Double(4 * 4 * model.parameterCount))
    #expect(e.gradientBytes == Double(2 * 4 * model.parameterCount))
    // The workspace estimate is at least what Workspace really allocates.
    let real = model.makeWorkspace(maxBatch: 10).byteCount + model.makeWorkspace(maxBatch: 250).byteCount
    #expect(e.workspaceBytes >= Double(real))
    #expect(e.workspaceBytes <= 1.5 * Double(real))
    let big = MemoryEstimate(model: model, localSources: 2, batch: 1_000_000_000, threads: 1)
    #expect(big.totalBytes > 1e12)
    let threaded = try Sequential(
      spec: "conv6k5s2-relu-pool2-fc24-relu-fc10", inputShape: Shape([3, 28, 28]), threads: 8)
    #expect(MemoryEstimate(model: threaded, localSources: 2, batch: 10, threads: 8).workspaceBytes > e.workspaceBytes)
  }

  @Test("a config that needs more than is available is refused with the estimate and what is available")
  func memoryRefusal() throws {
    var config = try TrainConfig.parse(
      yaml: """
        model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
        classes: 10
        steps: 4
        sources: [{domain: mnist}]
        target: {domain: mnist-m, labelled_per_class: 3, unlabelled: 10, test: 20}
        optimizer: {lr: 0.1}
        """, file: "c.yaml")
    // The check also sizes the data from its headers: a small synthetic root.
    let root = try SyntheticDataRoot.make()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let options = RunOptions(
      method: .gatedPCGrad, seed: 1, dataSeed: 1, steps: 4, outDir: "o", dataRoot: root, configPath: "c.yaml")
    let plenty = AvailableMemory(bytes: 1e10, source: "test")
    try MemoryEstimate.check(
      config: config, options: options, rank: 0, worldSize: 1, threads: 1, file: "c.yaml", available: plenty)
    config.batchSize = 100_000_000
    #expect(throws: ConfigError.self) {
      try MemoryEstimate.check(
        config: config, options: options, rank: 0, worldSize: 1, threads: 1, file: "c.yaml", available: plenty)
    }
    do {
      try MemoryEstimate.check(
        config: config, options: options, rank: 0, worldSize: 1, threads: 1, file: "c.yaml", available: plenty)
    } catch let e as ConfigError {
      #expect(
        e.description.hasPrefix("c.yaml: needs about ") && e.description.contains("9.3 GiB are available (test)"),
        "\(e.description)")
    }
    #expect(AvailableMemory.current().map { $0.bytes > 0 } ?? true)
  }

  // MARK: - ConfigFingerprint

  @Test("the fingerprint names changed keys in config spelling and ignores logging keys and formatting")
  func fingerprint() throws {
    let base = """
      model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
      classes: 10
      steps: 4
      sources: [{domain: mnist, classes: [5, 6], label_map: {5: 0, 6: 1}}]
      target: {domain: mnist-m, labelled_per_class: 3, unlabelled: 10, test: 20}
      optimizer: {lr: 0.1}
      """
    let a = ConfigFingerprint(config: try TrainConfig.parse(yaml: base, file: "a"))
    let same = ConfigFingerprint(
      config: try TrainConfig.parse(yaml: "# comment\n" + base + "\nlog_every: 7\n", file: "b"))
    #expect(a.changedKeys(from: same).isEmpty)
    #expect(a.hash == same.hash)
    let edited = base.replacingOccurrences(of: "lr: 0.1", with: "lr: 0.2").replacingOccurrences(
      of: "6: 1", with: "6: 0")
    let b = ConfigFingerprint(config: try TrainConfig.parse(yaml: edited, file: "c"))
    #expect(b.changedKeys(from: a) == ["optimizer.lr", "sources[0].label_map.6"])
    #expect(a.hash != b.hash)
  }

  // MARK: - RunDirectory

  @Test("--out: new, empty or a failed start's skeleton is fine; a file, the user's files or a run are refused")
  func runDirectory() throws {
    let dir = try makeTemp()
    try RunDirectory.checkNew(dir + "/new/deeper")
    try RunDirectory.checkNew(dir)
    try FileManager.default.createDirectory(atPath: dir + "/checkpoints", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/metrics.jsonl", contents: nil)
    try RunDirectory.checkNew(dir)  // what a failed start leaves
    _ = FileManager.default.createFile(atPath: dir + "/metrics.jsonl", contents: Data("{}\n".utf8))
    #expect(throws: ConfigError.self) { try RunDirectory.checkNew(dir) }
    _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data("x".utf8))
    #expect(throws: ConfigError.self) { try RunDirectory.checkNew(dir + "/file") }
    #expect(throws: ConfigError.self) { try RunDirectory.checkNew(dir + "/file/sub") }
    #expect(throws: ConfigError.self) { try RunDirectory.checkResumable(dir) }
    _ = FileManager.default.createFile(atPath: dir + "/run.json", contents: Data("{}".utf8))
    try RunDirectory.checkResumable(dir)
    _ = FileManager.default.createFile(atPath: dir + "/summary.json", contents: Data("{}".utf8))
    #expect(throws: ConfigError.self) { try RunDirectory.checkResumable(dir) }
  }

  // MARK: - Log writes

  @Test("a failing metrics.jsonl write (a full disk: /dev/full) throws OutputError naming the file")
  func fullDisk() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    let dir = try makeTemp()
    try FileManager.default.createSymbolicLink(atPath: dir + "/metrics.jsonl", withDestinationPath: "/dev/full")
    let log = try RunLog(directory: dir, enabled: true)
    #expect(throws: OutputError.self) { try log.record(MetricsRecord(step: 1)) }
    do {
      var rec = MetricsRecord(step: 1)
      rec.targetLoss = .nan
      try log.record(rec)
    } catch let e as OutputError {
      #expect(e.description == dir + "/metrics.jsonl: cannot write: No space left on device")
    }
  }

  @Test("non-finite numbers become null in the logs and round-trip as strings in checkpoint JSON")
  func nonFiniteJSON() throws {
    var rec = MetricsRecord(step: 1)
    rec.losses = ["a": .nan]
    rec.targetSquaredNorms = [.infinity, 1]
    rec.targetLoss = -.infinity
    let bytes = try RecordCoding.encode(rec)
    #expect(
      String(decoding: bytes, as: UTF8.self)
        == #"{"losses":{"a":null},"step":1,"target_loss":null,"target_squared_norms":[null,1]}"#)
    let read = try #require(RecordCoding.decode(MetricsRecord.self, from: bytes))
    #expect(read.losses?["a"]?.isNaN == true && read.targetSquaredNorms?.last == 1 && read.targetLoss == nil)
    let data = try CheckpointJSON.encoder().encode([Double.nan, -Double.infinity, 2])
    let back = try CheckpointJSON.decoder().decode([Double].self, from: data)
    #expect(back[0].isNaN && back[1] == -Double.infinity && back[2] == 2)
  }

  func makeTemp() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gradmix-robust-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }
}
