import Foundation
import GradMixReports
import GradMixTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// metrics.jsonl read line by line in bounded memory: the report's evenly thinned sample and the
/// streamed export (issue #28, row 8).
@Suite("Metrics streaming")
struct MetricsStreamTests {
  /// A run folder whose metrics.jsonl has `steps` step records (steps 1...steps), a pseudo-label
  /// event every 1000 steps, then `tail` (e.g. a torn line).
  static func makeRun(_ root: String, steps: Int, tail: String = "") throws -> String {
    let dir = root + "/run"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(#"{"method": "gradmix", "seed": "1"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/run.json"))
    var text = ""
    for step in 1...steps {
      text += #"{"step":\#(step),"lr":0.01,"layers":["fc1","fc2"],"losses":{"a":\#(1.0 / Double(step)),"b":2.5},"#
      text += #""weights":{"a":[0.25,0.5],"b":[0.75,0.5]}}"# + "\n"
      if step % 1000 == 0 { text += #"{"event":"pseudo_labels","step":\#(step),"count":\#(step / 10)}"# + "\n" }
    }
    try Data((text + tail).utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
    return dir
  }

  @Test("the report's sample: evenly spaced step records within the bound, the last one kept, all events")
  func thinned() throws {
    let root = try makeTemporaryDirectory("gradmix-stream")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dir = try Self.makeRun(root, steps: 10_001, tail: #"{"step":10002,"lr":0.0"#)
    let sample = try MetricsSample(path: dir + "/metrics.jsonl", limit: 100)
    let steps = sample.steps.compactMap(\.step)
    #expect(steps.count >= 100 && steps.count <= 201, "\(steps.count) kept")
    #expect(sample.thinned && sample.stride > 1)
    // Line i holds step i + 1: kept lines 0, s, 2s, ... then the last complete record (the torn line is not one).
    #expect(steps.first == 1 && steps.last == 10_001)
    let gaps = Set(zip(steps.dropLast(), steps.dropFirst().dropLast()).map { $1 - $0 })
    #expect(gaps == [sample.stride], "\(gaps)")
    #expect(sample.events.compactMap(\.step) == Array(stride(from: 1000, through: 10_000, by: 1000)))
    #expect(sample.stepLines == 10_002)  // the torn last line counts as a line, not a record
    // A limit above the count keeps everything.
    let all = try MetricsSample(path: dir + "/metrics.jsonl", limit: 20_000)
    #expect(all.steps.compactMap(\.step) == Array(1...10_001) && !all.thinned)
    // Through RunFolder, and the report says the pictures are thinned.
    let run = try RunFolder(path: dir, metricsLimit: 100)
    #expect(run.steps.count == steps.count && run.metricsThinned && run.stepLines == 10_002)
    let html = RunReport(runs: [run], generator: "test").html()
    #expect(html.contains("metrics.jsonl holds 10002 step records; the pictures show \(steps.count) evenly spaced"))
  }

  @Test("a line longer than the bound is skipped, the lines around it are read")
  func longLine() throws {
    let root = try makeTemporaryDirectory("gradmix-stream")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let long = #"{"step":2,"x":""# + String(repeating: "y", count: MetricsStream.maxLineBytes) + "\"}\n"
    let dir = try Self.makeRun(root, steps: 1, tail: long + #"{"step":3,"lr":0.5}"#)
    let run = try RunFolder(path: dir)
    #expect(run.steps.compactMap(\.step) == [1, 3])
  }

  @Test("a FIFO as metrics.jsonl is not opened for reading (it would block)")
  func fifo() throws {
    let root = try makeTemporaryDirectory("gradmix-stream")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dir = try Self.makeRun(root, steps: 1)
    try FileManager.default.removeItem(atPath: dir + "/metrics.jsonl")
    #expect(mkfifo(dir + "/metrics.jsonl", 0o600) == 0)
    let run = try RunFolder(path: dir)
    #expect(run.steps.isEmpty)
    #expect(try MetricsStream.forEachLine(path: dir + "/metrics.jsonl") { _ in } == false)
  }

  @Test("the streamed export writes what the in-memory CSV holds, and replaces an earlier export")
  func export() throws {
    let root = try makeTemporaryDirectory("gradmix-stream")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dir = try Self.makeRun(root, steps: 2500, tail: #"{"step":2501,"lr"#)
    try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/metrics.csv"))
    let run = try RunFolder(path: dir)
    let written = try MetricsExport.write(try RunFolder(path: dir, readMetrics: false))
    #expect(written.steps == 2500 && written.events == 2)
    let csv = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8)
    #expect(csv == MetricsExport.metricsCSV(run))
    #expect(csv.hasPrefix("step,lr,loss:a,loss:b,weight:a:fc1,weight:a:fc2,weight:b:fc1,weight:b:fc2\n1,0.01,1.0,2.5,"))
    #expect(try String(contentsOfFile: dir + "/events.csv", encoding: .utf8) == MetricsExport.eventsCSV(run))
    #expect(!FileManager.default.fileExists(atPath: dir + "/metrics.csv.tmp"))
  }

  @Test("the export's column pass skips lines that differ only in numbers, never a new key or name")
  func exportColumns() throws {
    let root = try makeTemporaryDirectory("gradmix-stream")
    defer { try? FileManager.default.removeItem(atPath: root) }
    // Sources s1 and s2 differ only in a digit inside a string; a key appears at step 1500 only; a
    // malformed line shaped like the others comes first.
    var text = #"{"step":1.2.3,"losses":{"s1":1}}"# + "\n"
    for step in 1...2000 {
      let source = step == 1999 ? "s2" : "s1"
      text += #"{"step":\#(step),"losses":{"\#(source)":\#(Double(step) / 7)}"#
      text += step == 1500 ? #","target_test_accuracy":0.5}"# + "\n" : "}\n"
    }
    let dir = root + "/run"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
    _ = try MetricsExport.write(try RunFolder(path: dir, readMetrics: false))
    let csv = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8)
    // A run written before issue #27: its target_test_accuracy exports as target_accuracy.
    #expect(csv.hasPrefix("step,target_accuracy,loss:s1,loss:s2\n"), "\(csv.prefix(80))")
    #expect(csv.contains("\n1500,0.5,214.28571428571428,\n"), "\(csv)")
    #expect(csv == MetricsExport.metricsCSV(try RunFolder(path: dir)))
  }
}
