import ArgumentParser
import Foundation
import GradMixDistributed
import GradMixReports

/// `gradmix export RUN...`: metrics.csv and events.csv beside metrics.jsonl.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write metrics.csv (step records) and events.csv (events) beside each run's metrics.jsonl.",
    discussion: """
      metrics.csv has one row per step record: step, lr, lr_scale, the target losses and accuracy, \
      pseudo-label counts, then loss:<source> and weight:<source>:<layer> columns. events.csv has one \
      row per event (e.g. pseudo_labels), lists and maps as JSON.
      """)

  @Argument(help: "Run folders, or folders that hold run folders.")
  var runs: [String]

  func run() throws {
    // metrics.jsonl is streamed by MetricsExport.write, not read into memory (issue #28).
    for run in try RunCollection.expand(runs, readMetrics: false) {
      do {
        let written = try MetricsExport.write(run)
        print("wrote \(written.paths.joined(separator: ", ")) (\(written.steps) steps, \(written.events) events)")
      } catch let error as MetricsExport.WriteError {
        // A full disk is not the input's fault: exit 1 (docs/CONFIG.md), naming the file.
        printError("error: \(error.path): cannot write: \(ReportCommand.reason(error.underlying))")
        throw ExitCode(1)
      }
    }
  }
}
