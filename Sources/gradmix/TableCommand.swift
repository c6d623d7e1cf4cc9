import ArgumentParser
import Foundation
import GradMixDistributed
import GradMixRecords
import GradMixReports

/// `gradmix table RUN...`: a metric's mean and 95% interval over seeds, per group.
struct TableCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "table",
    abstract: "Tabulate runs: a metric's mean ± 95% CI over seeds per group, and paired differences to a baseline.",
    discussion: """
      Each RUN is a run folder, or a folder of run folders (a sweep's or benchmark's --out). Runs are \
      grouped by --by (keys of summary.json or run.json, or config keys such as optimizer.lr, read from \
      config.resolved.yaml); within a group the seeds are the samples. The interval is the Student-t \
      interval of the mean. With --baseline, each group's paired difference to that group (matched by \
      seed) is shown with its own interval. Unfinished runs are listed on stderr and left out.
      """)

  @Argument(help: "Run folders, or folders that hold run folders.")
  var runs: [String] = []

  @Option(
    help: ArgumentHelp(
      "A JSON list of tables of given values instead of runs: [{\"metric\", \"baseline\", \"groups\": [{\"group\", \"values\": {seed: value}}]}]; prints a JSON list of tables.",
      valueName: "file"))
  var values: String?

  @Option(help: "Group by these keys, comma-separated (e.g. method or method,optimizer.lr).")
  var by = "method"

  @Option(help: "The metric (a number in summary.json).")
  var metric = "target_accuracy"

  @Option(help: "md (Markdown), csv or json (every number, each seed's value).")
  var format: TableFormat = .md

  @Option(help: "The group to compare every other group with (e.g. uniform); adds paired differences.")
  var baseline: String?

  func validate() throws {
    if values == nil && runs.isEmpty { throw ValidationError("give run folders, or --values FILE") }
    if values != nil && !runs.isEmpty { throw ValidationError("--values: give run folders or --values, not both") }
  }

  func run() throws {
    if let values {
      // The statistics of values a script arranged (scripts/report/suite_report.py): one stack for every interval.
      guard let data = FileManager.default.contents(atPath: values) else {
        throw ValidationError("--values: \(values): cannot read")
      }
      let requests: [ResultTable.Request]
      do { requests = try JSONDecoder().decode([ResultTable.Request].self, from: data) } catch {
        throw ValidationError("--values: \(values): not a list of tables: \(error)")
      }
      let tables: [ResultTable.Record]
      do { tables = try requests.map { try ResultTable($0).record } } catch {
        throw ValidationError("--values: \(error)")
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      print(String(decoding: try encoder.encode(tables), as: UTF8.self))
      return
    }
    // A key as older runs named it (target_test_accuracy) means its current name, as the records read it.
    let metric = RecordCoding.formerKeys[self.metric] ?? self.metric
    let keys = by.split(separator: ",").map { RecordCoding.formerKeys[String($0)] ?? String($0) }
    // summary.json (and run.json, the config) only: metrics.jsonl may be large (issue #28).
    let folders = try RunCollection.expand(runs, readMetrics: false)
    let finished = folders.filter(\.finished)
    if !finished.isEmpty && !finished.contains(where: { $0.number(for: metric) != nil }) {
      let numeric = Set(finished.flatMap { f in f.summaryFields.keys.filter { f.summaryFields[$0]?.number != nil } })
      throw ValidationError(
        "--metric: no run's summary.json has a number '\(metric)' (numbers there: \(numeric.sorted().joined(separator: ", ")))"
      )
    }
    let table: ResultTable
    do {
      table = try ResultTable(
        runs: folders, keys: keys, metric: metric,
        baseline: baseline)
    } catch {
      throw ValidationError("\(error)")
    }
    if !table.skipped.isEmpty {
      printError("note: left out (no \(metric), unfinished?): \(table.skipped.joined(separator: ", "))")
    }
    switch format {
    case .md: print(table.markdown(), terminator: "")
    case .csv: print(table.csv(), terminator: "")
    case .json: print(try table.json(), terminator: "")
    }
  }
}

/// The output format of `gradmix table`.
enum TableFormat: String, ExpressibleByArgument, CaseIterable {
  case md, csv, json
}
