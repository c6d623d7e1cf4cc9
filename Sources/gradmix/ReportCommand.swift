import ArgumentParser
import Foundation
import GradMixCore
import GradMixDistributed
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
    // A chart is 560 px wide: 500 to 1000 evenly spaced step records per run draw the same picture as
    // all of them, in bounded memory however long metrics.jsonl is (issue #28).
    let folders = try RunCollection.expand(runs, metricsLimit: RunReport.pointsPerRun)
    // A page this command wrote is replaced; any other index.html is the user's and is left alone (issue #28).
    let page = out + "/index.html"
    if FileManager.default.fileExists(atPath: page) {
      // The footer is at the end: the last 64 KiB of a regular file are read, nothing else.
      let attributes = try? FileManager.default.attributesOfItem(atPath: page)
      let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
      let regular = attributes?[.type] as? FileAttributeType == .typeRegular
      let tail =
        regular
        ? FileHandle(forReadingAtPath: page).flatMap { h -> String? in
          defer { try? h.close() }
          try? h.seek(toOffset: UInt64(max(0, size - 65536)))
          return (try? h.read(upToCount: 65536)).map { String(decoding: $0, as: UTF8.self) }
        } : nil
      guard let tail, tail.contains("<footer>Written by gradmix ") else {
        throw ValidationError("--out: \(page) exists and was not written by gradmix report; choose another --out")
      }
    }
    let html = RunReport(runs: folders, generator: "gradmix \(Provenance.versionLine)").html()
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    } catch {
      throw ValidationError("--out: \(out): cannot create the folder: \((error as NSError).localizedDescription)")
    }
    do {
      try Data(html.utf8).write(to: URL(fileURLWithPath: page), options: .atomic)
    } catch {
      // A full disk is not the input's fault: exit 1 (docs/CONFIG.md), naming the file.
      printError("error: \(page): cannot write: \(Self.reason(error))")
      throw ExitCode(1)
    }
    print("wrote \(out)/index.html (\(folders.count) run(s))")
  }

  /// The POSIX reason under a Foundation write error ("File too large", "No space left on device").
  static func reason(_ error: Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(u.code)))
    }
    return ns.localizedDescription
  }
}
