import Foundation
import GradMixRecords
import GradMixReports
import GradMixTestSupport
import Testing

/// Table, report and export on hand-written run folders (as `gradmix train` writes them).
@Suite("Tables, reports and exports")
struct ReportTests {
  /// Writes a run folder: summary.json with the accuracy, and a metrics.jsonl with two sources over 3 records.
  /// - Parameters:
  ///   - former: write the accuracy under its name before issue #27, `target_test_accuracy`.
  ///   - formerNames: write run.json without `method_names`, as before the names of 2026-12-05.
  static func makeRun(
    _ root: String, _ name: String, method: String, seed: Int, accuracy: Double,
    ranks: Int = 1, former: Bool = false, formerNames: Bool = false
  ) throws -> String {
    let dir = root + "/" + name
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    /// The JSON of `record`, with the accuracy's former key when `former`.
    func json<R: Encodable>(_ record: R) throws -> String {
      let text = String(decoding: try RecordCoding.encode(record), as: UTF8.self)
      return former ? text.replacingOccurrences(of: "\"target_accuracy\"", with: "\"target_test_accuracy\"") : text
    }
    var summary = RunSummary()
    summary.method = method
    summary.seed = seed
    summary.steps = 30
    summary.targetAccuracy = accuracy
    summary.wallSeconds = 1.5
    summary.worldSize = ranks
    if ranks > 1 {
      summary.perRank = (0..<ranks).map {
        ["rank": Double($0), "source_gradients": 1.0 + Double($0), "waiting": 0.25, "communication": 0.5]
      }
    }
    try Data(try json(summary).utf8).write(to: URL(fileURLWithPath: dir + "/summary.json"))
    var run = RunInfo()
    run.method = method
    if !formerNames { run.methodNames = MethodNames.date }
    run.seed = String(seed)
    run.provenance.commit = "abc123"
    run.provenance.dirty = false
    try Data(try json(run).utf8).write(to: URL(fileURLWithPath: dir + "/run.json"))
    var lines: [String] = []
    for step in [10, 20, 30] {
      var rec = MetricsRecord(step: step)
      rec.lr = 0.01
      rec.lrScale = 1.0 + Double(step) / 100
      rec.layers = ["conv1", "fc2"]
      rec.losses = ["mnist": 1.0 / Double(step), "printed": 2.0 / Double(step)]
      rec.weights = ["mnist": [0.25, 0.5], "printed": [0.75, 0.5]]
      rec.targetAccuracy = accuracy * Double(step) / 30
      rec.pseudoCount = step
      lines.append(try json(rec))
    }
    lines.insert(#"{"step": 15, "event": "pseudo_labels", "count": 42, "per_class": [1, 2]}"#, at: 2)
    lines.append(#"{"step": 31, "lr": 0.0"#)  // a torn last line of an interrupted write
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
    try Data("optimizer:\n  lr: 0.01\nsources:\n- {domain: mnist, limit: 5}\n".utf8)
      .write(to: URL(fileURLWithPath: dir + "/config.resolved.yaml"))
    return dir
  }

  @Test("the table gives each method's mean and interval over seeds, and paired differences to the baseline")
  func table() throws {
    let root = try makeTemporaryDirectory("gradmix-table")
    var runs: [RunFolder] = []
    for (seed, (u, g)) in [(0.80, 0.84), (0.70, 0.75), (0.90, 0.93)].enumerated() {
      runs.append(try RunFolder(path: Self.makeRun(root, "u\(seed)", method: "uniform", seed: seed + 1, accuracy: u)))
      runs.append(try RunFolder(path: Self.makeRun(root, "g\(seed)", method: "gradmix", seed: seed + 1, accuracy: g)))
    }
    let t = try ResultTable(runs: runs, keys: ["method"], metric: "target_accuracy", baseline: "uniform")
    let g = try #require(t.rows.first { $0.group == "gradmix" })
    #expect(g.estimate.count == 3 && abs(g.estimate.mean - (0.84 + 0.75 + 0.93) / 3) < 1e-12)
    // Differences 0.04, 0.05, 0.03: mean 0.04, sd 0.01, half-width t(0.975, 2) · 0.01 / √3.
    let d = try #require(g.difference)
    #expect(abs(d.mean - 0.04) < 1e-12)
    #expect(abs(try #require(d.halfWidth) - 4.302653 * 0.01 / 3.0.squareRoot()) < 1e-6)
    #expect(t.rows.first { $0.group == "uniform" }?.difference == nil)
    let md = t.markdown()
    #expect(md.contains("| gradmix | 3 | 84.00 ± ") && md.contains("4.00 ± 2.48 (3 pairs)"), "\(md)")
    #expect(t.csv().hasPrefix("group,n,mean,sd,ci95_half_width"))
    // Config keys group too (read from config.resolved.yaml).
    let byLR = try ResultTable(
      runs: runs, keys: ["optimizer.lr", "sources[0].limit"], metric: "target_accuracy",
      baseline: nil)
    #expect(byLR.rows.map(\.group) == ["0.01, 5"])
    // A config number groups by value, whatever its spelling (config.resolved.yaml wrote Doubles as `9e-1`
    // before 2026-12-05).
    let old = try Self.makeRun(root, "old", method: "uniform", seed: 1, accuracy: 0.5)
    try Data("adaptive_lr: {beta: 9e-1}\n".utf8).write(to: URL(fileURLWithPath: old + "/config.resolved.yaml"))
    let new = try Self.makeRun(root, "new", method: "uniform", seed: 2, accuracy: 0.6)
    try Data("adaptive_lr: {beta: 0.9}\n".utf8).write(to: URL(fileURLWithPath: new + "/config.resolved.yaml"))
    let beta = try ResultTable(
      runs: [RunFolder(path: old), RunFolder(path: new)], keys: ["adaptive_lr.beta"], metric: "target_accuracy",
      baseline: nil)
    #expect(beta.rows.map(\.group) == ["0.9"])
    #expect(throws: RunFolderError.self) {
      try ResultTable(runs: runs, keys: ["method"], metric: "target_accuracy", baseline: "nosuch")
    }
  }

  @Test("the report is one HTML page with inline SVG pictures, a colour per source and a dash per run")
  func report() throws {
    let root = try makeTemporaryDirectory("gradmix-report")
    let a = try RunFolder(path: Self.makeRun(root, "a", method: "gradmix", seed: 1, accuracy: 0.8, ranks: 3))
    let b = try RunFolder(path: Self.makeRun(root, "b", method: "uniform", seed: 1, accuracy: 0.7))
    let html = RunReport(runs: [a, b], generator: "test").html()
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    // Self-contained: no scripts, no linked files; the only URI is the SVG namespace.
    #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
    #expect(
      html.components(separatedBy: "http").count
        == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count)
    let svgs = html.components(separatedBy: "<svg ").count - 1
    // accuracy, losses, 2 layers of weights, lr scale, lr, pseudo-labels, ranks of run a
    #expect(svgs == 8, "\(svgs) pictures")
    for title in [
      "Target accuracy", "Source weights, layer conv1", "Source weights, layer fc2",
      "Learning-rate scale", "Pseudo-labelled target images", "Seconds per phase and rank: a",
    ] {
      #expect(html.contains(title), "missing \(title)")
    }
    // The rank picture has one bar per rank and phase present (3 ranks × 3 phases).
    #expect(html.components(separatedBy: "class=\"bar\"").count - 1 == 9)
    #expect(html.contains("<title>waiting: 0.25 s</title>"))
    // The same source has the same colour in every picture; the runs differ by dash.
    let mnistColour = try #require(Self.attribute("stroke", ofSeriesLabelled: "mnist (a)", in: html))
    #expect(Self.attribute("stroke", ofSeriesLabelled: "mnist (b)", in: html) == mnistColour)
    #expect(Self.attribute("stroke", ofSeriesLabelled: "printed (a)", in: html) != mnistColour)
    // The weight polyline of layer conv1 for mnist sits at 0.25 throughout: 3 points.
    #expect(html.contains("data-label=\"mnist (a)\""))
    // The torn last line was skipped, not fatal; the event was read.
    #expect(a.steps.count == 3 && a.events.count == 1)
  }

  @Test("the table as JSON carries the CSV's numbers and each seed's value, and decodes to the same record")
  func tableJSON() throws {
    let root = try makeTemporaryDirectory("gradmix-json")
    var runs: [RunFolder] = []
    for (seed, (u, g)) in [(0.80, 0.84), (0.70, 0.75), (0.90, 0.93)].enumerated() {
      runs.append(try RunFolder(path: Self.makeRun(root, "u\(seed)", method: "uniform", seed: seed + 1, accuracy: u)))
      runs.append(try RunFolder(path: Self.makeRun(root, "g\(seed)", method: "gradmix", seed: seed + 1, accuracy: g)))
    }
    let t = try ResultTable(runs: runs, keys: ["method"], metric: "target_accuracy", baseline: "uniform")
    let text = try t.json()
    let back = try JSONDecoder().decode(ResultTable.Record.self, from: Data(text.utf8))
    #expect(back == t.record && back.metric == "target_accuracy" && back.baseline == "uniform")
    let g = try #require(back.groups.first { $0.group == "gradmix" })
    let row = try #require(t.rows.first { $0.group == "gradmix" })
    #expect(g.n == 3 && g.values == ["1": 0.84, "2": 0.75, "3": 0.93])
    #expect(g.mean == row.estimate.mean && g.ci95HalfWidth == row.estimate.halfWidth)
    #expect(g.diffPairs == 3 && g.diffMean == row.difference?.mean && g.diffMean.map { abs($0 - 0.04) < 1e-12 } == true)
    // The baseline has no difference to itself: the keys are left out, not null.
    let u = try #require(back.groups.first { $0.group == "uniform" })
    #expect(u.diffMean == nil && !text.contains("null"))
    #expect(text.contains("\"ci95_half_width\"") && text.contains("\"diff_mean\""))
  }

  @Test("a table of given values (gradmix table --values, the suite report's statistics) equals the runs' table")
  func tableOfValues() throws {
    let root = try makeTemporaryDirectory("gradmix-values")
    var runs: [RunFolder] = []
    for (seed, (u, g)) in [(0.80, 0.84), (0.70, 0.75), (0.90, 0.93)].enumerated() {
      runs.append(try RunFolder(path: Self.makeRun(root, "u\(seed)", method: "uniform", seed: seed + 1, accuracy: u)))
      runs.append(try RunFolder(path: Self.makeRun(root, "g\(seed)", method: "gradmix", seed: seed + 1, accuracy: g)))
    }
    let fromRuns = try ResultTable(runs: runs, keys: ["method"], metric: "target_accuracy", baseline: "uniform")
    let request = ResultTable.Request(
      metric: "target_accuracy", baseline: "uniform",
      groups: [
        .init(group: "uniform", values: ["1": 0.80, "2": 0.70, "3": 0.90]),
        .init(group: "gradmix", values: ["1": 0.84, "2": 0.75, "3": 0.93, "4": 0.5]),
      ])
    let fromValues = try ResultTable(request).record
    let g = try #require(fromValues.groups.last),
      r = try #require(fromRuns.record.groups.first { $0.group == "gradmix" })
    // Seed 4 has no uniform partner: it counts in the mean, not in the paired difference.
    #expect(g.n == 4 && g.diffPairs == 3 && g.diffMean == r.diffMean && g.diffCi95HalfWidth == r.diffCi95HalfWidth)
    #expect(fromValues.groups.first?.mean == fromRuns.record.groups.first { $0.group == "uniform" }?.mean)
    #expect(throws: RunFolderError.self) {
      try ResultTable(ResultTable.Request(metric: "m", baseline: "x", groups: []))
    }
  }

  @Test("a run written before the rename reads its target_test_accuracy as target_accuracy")
  func formerAccuracyName() throws {
    let root = try makeTemporaryDirectory("gradmix-former")
    let old = try RunFolder(
      path: Self.makeRun(root, "old", method: "uniform", seed: 1, accuracy: 0.6, former: true))
    let new = try RunFolder(path: Self.makeRun(root, "new", method: "gradmix", seed: 1, accuracy: 0.7))
    #expect(old.number(for: "target_accuracy") == 0.6 && new.number(for: "target_accuracy") == 0.7)
    #expect(old.steps.last?.targetAccuracy == 0.6 && old.summary?.targetAccuracy == 0.6)
    #expect(try String(contentsOfFile: old.path + "/summary.json", encoding: .utf8).contains("target_test_accuracy"))
    let t = try ResultTable(runs: [old, new], keys: ["method"], metric: "target_accuracy", baseline: nil)
    #expect(t.rows.map(\.group).sorted() == ["gradmix", "uniform"])
    #expect(RunReport(runs: [old], generator: "test").html().contains("<td>60.00%</td>"))
  }

  @Test("a run recorded under the names before 2026-12-05 groups under today's name of its method")
  func formerMethodNames() throws {
    let root = try makeTemporaryDirectory("gradmix-names")
    let old = try RunFolder(
      path: Self.makeRun(root, "old", method: "gradmix", seed: 1, accuracy: 0.6, formerNames: true))
    let paper = try RunFolder(
      path: Self.makeRun(root, "paper", method: "gradmix-paper", seed: 2, accuracy: 0.5, formerNames: true))
    let new = try RunFolder(path: Self.makeRun(root, "new", method: "gradmix", seed: 1, accuracy: 0.7))
    #expect(old.method == "gated-pcgrad" && paper.method == "gradmix" && new.method == "gradmix")
    #expect(old.run?.method == "gradmix")  // the record itself is read as written
    let t = try ResultTable(runs: [old, paper, new], keys: ["method"], metric: "target_accuracy", baseline: nil)
    #expect(t.rows.map(\.group).sorted() == ["gated-pcgrad", "gradmix"])
    #expect(t.rows.first { $0.group == "gradmix" }?.values.count == 2)
  }

  @Test("the report tabulates each source's open share and mean weight per layer from summary.json")
  func layerShare() throws {
    let root = try makeTemporaryDirectory("gradmix-share")
    let dir = try Self.makeRun(root, "a", method: "gradmix", seed: 1, accuracy: 0.8)
    #expect(!RunReport(runs: [try RunFolder(path: dir)], generator: "test").html().contains("Sources open per layer"))
    var summary = RunSummary()
    summary.method = "gradmix"
    summary.steps = 30
    summary.layers = ["conv1", "fc2"]
    summary.layerShareFromStep = 6
    summary.layerOpenShare = ["mnist": [1.0, 0.5], "noise": [0.0, 0.25]]
    summary.layerMeanWeight = ["mnist": [0.5, 0.25], "noise": [0.0, 0.125]]
    try RecordCoding.encode(summary).write(to: URL(fileURLWithPath: dir + "/summary.json"))
    let html = RunReport(runs: [try RunFolder(path: dir)], generator: "test").html()
    #expect(html.contains("Sources open per layer") && html.contains("steps after 6"))
    #expect(html.contains("<tr><td>noise</td><td>0.00 / 0.000</td><td>0.25 / 0.125</td></tr>"), "\(html)")
  }

  @Test("an empty run still gets a page that says there is no data")
  func emptyRun() throws {
    let root = try makeTemporaryDirectory("gradmix-report")
    try FileManager.default.createDirectory(atPath: root + "/r", withIntermediateDirectories: true)
    try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/r/run.json"))
    #expect(throws: RunFolderError.self) { try RunFolder(path: root + "/r") }
    try Data(#"{"method": "gradmix"}"#.utf8).write(to: URL(fileURLWithPath: root + "/r/run.json"))
    let html = RunReport(runs: [try RunFolder(path: root + "/r")], generator: "test").html()
    #expect(html.contains("no data in these runs"))
  }

  @Test("export writes step records and events as CSV")
  func export() throws {
    let root = try makeTemporaryDirectory("gradmix-export")
    let run = try RunFolder(path: Self.makeRun(root, "a", method: "gradmix", seed: 1, accuracy: 0.9))
    let csv = MetricsExport.metricsCSV(run).split(separator: "\n")
    #expect(csv.count == 4)
    let header = csv[0].split(separator: ",").map(String.init)
    #expect(header.prefix(3) == ["step", "lr", "lr_scale"])
    #expect(header.contains("loss:mnist") && header.contains("weight:printed:fc2"))
    let row = csv[1].split(separator: ",").map(String.init)
    #expect(row[header.firstIndex(of: "step")!] == "10")
    #expect(row[header.firstIndex(of: "weight:mnist:conv1")!] == "0.25")
    #expect(row[header.firstIndex(of: "loss:printed")!] == "0.2")
    let events = MetricsExport.eventsCSV(run)
    #expect(events == "step,event,count,per_class\n15,pseudo_labels,42,\"[1,2]\"\n", "\(events)")
  }

  /// The value of `name` on the polyline whose data-label is `label`.
  static func attribute(_ name: String, ofSeriesLabelled label: String, in html: String) -> String? {
    guard let r = html.range(of: "data-label=\"\(label)\"") else { return nil }
    let rest = html[r.upperBound...]
    guard let a = rest.range(of: " \(name)=\"") else { return nil }
    return String(rest[a.upperBound...].prefix { $0 != "\"" })
  }
}
