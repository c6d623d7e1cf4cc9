import ArgumentParser
import Foundation
import GradMixCore
import GradMixReports

/// `gradmix report RUN... --out DIR`: a self-contained HTML page of pictures.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract:
      "Write DIR/index.html: pictures of one or more runs (accuracy, losses, weights, lr, pseudo-labels, ranks).",
    discussion: """
      The page is self-contained (inline SVG and CSS, no scripts or external files): open it in any \
      browser or attach it. Several runs overlay in every picture; a source keeps one colour and a run one \
      dash pattern throughout. Works for unfinished runs too (whatever metrics.jsonl holds).
      """)

  @Argument(help: "Run folders, or folders that hold run folders.")
  var runs: [String]

  @Option(help: "Output folder (created if needed); the page is OUT/index.html.")
  var out: String

  func run() throws {
    let folders = try RunCollection.expand(runs)
    let html = RunReport(runs: folders, generator: "gradmix \(Provenance.versionLine)").html()
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      try Data(html.utf8).write(to: URL(fileURLWithPath: out + "/index.html"), options: .atomic)
    } catch {
      throw ValidationError("\(out): cannot write index.html: \((error as NSError).localizedDescription)")
    }
    print("wrote \(out)/index.html (\(folders.count) run(s))")
  }
}
