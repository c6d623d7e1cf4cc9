import Foundation
import GradMixRecords

/// The HTML report of one or more runs: one self-contained page (inline SVG
/// and CSS, no scripts or external assets) with the target accuracy, the
/// losses, each source's weight per layer, the learning-rate scale and rate,
/// the pseudo-label counts, and for MPI runs each rank's time per phase.
///
/// Several runs overlay in every picture. A source keeps its colour in every
/// picture (colours follow the sorted source names of all runs) and a run
/// keeps its dash pattern, so "mnist, dashed" means the same everywhere.
public struct RunReport {
  public let runs: [RunFolder]
  /// Printed in the page footer (e.g. `gradmix 0.1.0 (commit …)`).
  public let generator: String

  /// The step records a report reads per run: ``RunFolder``'s `metricsLimit` (500 to 1000 are kept).
  public static let pointsPerRun = 500

  public init(runs: [RunFolder], generator: String) {
    self.runs = runs
    self.generator = generator
  }

  /// Every source name, sorted: index i gets palette colour i.
  var sourceNames: [String] {
    var names = Set<String>()
    for r in runs {
      for rec in r.steps { names.formUnion(rec.sourceNames) }
    }
    return names.sorted()
  }

  func color(source: String) -> String {
    let i = sourceNames.firstIndex(of: source) ?? 0
    return SVGChart.palette[i % SVGChart.palette.count]
  }

  func dash(run i: Int) -> String { SVGChart.dashes[i % SVGChart.dashes.count] }

  /// A series per run of a numeric step-record field.
  func perRun(_ field: KeyPath<MetricsRecord, Double?>) -> [SVGChart.Series] {
    runs.enumerated().map { i, r in
      SVGChart.Series(
        label: r.name, color: SVGChart.palette[i % SVGChart.palette.count],
        points: r.steps.compactMap { rec in rec[keyPath: field].map { (Double(rec.step ?? 0), $0) } })
    }.filter { !$0.points.isEmpty }
  }

  // MARK: - Pictures

  /// Every picture as (section heading, SVG).
  public func pictures() -> [(String, String)] {
    var out: [(String, String)] = []
    var acc = SVGChart(title: "Target accuracy", yLabel: "accuracy", series: perRun(\.targetAccuracy))
    acc.yRange = 0...1
    out.append(("Accuracy", acc.svg()))
    var losses: [SVGChart.Series] = []
    for (i, r) in runs.enumerated() {
      for name in sourceNames {
        let pts = r.steps.compactMap { rec -> (x: Double, y: Double)? in
          guard let v = rec.losses?[name], v.isFinite else { return nil }
          return (Double(rec.step ?? 0), v)
        }
        if !pts.isEmpty {
          losses.append(
            SVGChart.Series(label: "\(name) (\(r.name))", color: color(source: name), dash: dash(run: i), points: pts))
        }
      }
      let meta = r.steps.compactMap { rec in rec.targetMetaLoss.map { (Double(rec.step ?? 0), $0) } }
      if !meta.isEmpty {
        losses.append(
          SVGChart.Series(label: "target meta batch (\(r.name))", color: "#777777", dash: dash(run: i), points: meta))
      }
    }
    var lossChart = SVGChart(title: "Training losses (colour: source, dash: run)", yLabel: "loss", series: losses)
    lossChart.yRange = 0...0
    out.append(("Losses", lossChart.svg()))
    out.append(contentsOf: weightPictures())
    out.append(
      (
        "Learning rate",
        SVGChart(title: "Learning-rate scale (adaptive)", yLabel: "scale", series: perRun(\.lrScale)).svg()
      ))
    out.append(("Learning rate", SVGChart(title: "Learning rate", yLabel: "lr", series: perRun(\.lr)).svg()))
    out.append(
      ("Pseudo-labels", SVGChart(title: "Pseudo-labelled target images", yLabel: "count", series: pseudoSeries()).svg())
    )
    out.append(contentsOf: rankPictures())
    return out
  }

  /// One picture per layer: each source's weight over steps.
  func weightPictures() -> [(String, String)] {
    var layers: [String] = []
    for r in runs {
      for rec in r.steps {
        for l in rec.layers ?? [] where !layers.contains(l) { layers.append(l) }
      }
    }
    return layers.map { layer in
      var series: [SVGChart.Series] = []
      for (i, r) in runs.enumerated() {
        for name in sourceNames {
          let pts = r.steps.compactMap { rec -> (x: Double, y: Double)? in
            guard let v = rec.weight(name, layer: layer), v.isFinite else { return nil }
            return (Double(rec.step ?? 0), v)
          }
          if !pts.isEmpty {
            series.append(
              SVGChart.Series(
                label: runs.count > 1 ? "\(name) (\(r.name))" : name,
                color: color(source: name), dash: dash(run: i), points: pts))
          }
        }
      }
      var c = SVGChart(title: "Source weights, layer \(layer)", yLabel: "weight", series: series)
      c.yRange = 0...1
      return ("Source weights per layer", c.svg())
    }
  }

  func pseudoSeries() -> [SVGChart.Series] {
    runs.enumerated().compactMap { i, r in
      var pts = r.events.filter { $0.event == "pseudo_labels" }.compactMap { e in
        e.count.map { (Double(e.step ?? 0), Double($0)) }
      }
      if pts.isEmpty {
        pts = r.steps.compactMap { rec in rec.pseudoCount.map { (Double(rec.step ?? 0), Double($0)) } }
      }
      return pts.isEmpty
        ? nil : SVGChart.Series(label: r.name, color: SVGChart.palette[i % SVGChart.palette.count], points: pts)
    }
  }

  /// For each run with more than one rank: seconds per phase per rank (the
  /// phase names of summary.json's `per_rank`, those present in the run).
  func rankPictures() -> [(String, String)] {
    runs.compactMap { r in
      guard let ranks = r.summary?.perRank, ranks.count > 1 else { return nil }
      // Compute phases, then waiting (for the slowest rank) and transfer (communication) apart.
      let phases = [
        "target_gradient", "source_gradients", "mixing", "update", "evaluation", "pseudo_labelling",
        "waiting", "communication",
      ].filter { p in ranks.contains { $0[p] != nil } }
      let bars = ranks.map { rank in
        (
          label: "rank \(rank["rank"].map { String(Int($0)) } ?? "?")",
          parts: phases.map { rank[$0] ?? 0 }
        )
      }
      return (
        "Time per rank",
        SVGChart.stackedBars(
          title: "Seconds per phase and rank: \(r.name)", unit: "s",
          bars: bars, partNames: phases)
      )
    }
  }

  // MARK: - Page

  /// The runs' summary table rows.
  func summaryTable() -> String {
    var rows =
      "<table><tr><th>run</th><th>method</th><th>seed</th><th>steps</th><th>target accuracy</th>"
      + "<th>wall seconds</th><th>ranks</th><th>commit</th><th>host</th><th>started</th></tr>\n"
    for r in runs {
      let acc =
        r.summary?.targetAccuracy.flatMap { $0.isFinite ? String(format: "%.2f%%", $0 * 100) : nil }
        ?? (r.steps.last?.targetAccuracy.map { String(format: "%.2f%% (unfinished)", $0 * 100) } ?? "—")
      let steps =
        r.finished ? (r.string(for: "steps") ?? "?") : "\(r.steps.last?.step ?? 0) of \(r.string(for: "steps") ?? "?")"
      let cells = [
        r.name, r.method ?? "?", r.seed ?? "?", steps, acc,
        r.number(for: "wall_seconds").map { String(format: "%.1f", $0) } ?? "—",
        r.string(for: "world_size") ?? "?",
        (r.string(for: "commit") ?? "?") + (r.value(for: "dirty") == .bool(true) ? " (dirty)" : ""),
        r.string(for: "hostname") ?? "—", r.string(for: "started_at") ?? "—",
      ]
      rows += "<tr>" + cells.map { "<td>\(SVGChart.escape($0))</td>" }.joined() + "</tr>\n"
    }
    rows += "</table>\n"
    for r in runs where r.metricsThinned {
      rows +=
        "<p>\(SVGChart.escape(r.name)): metrics.jsonl holds \(r.stepLines) step records; the pictures show "
        + "\(r.steps.count) evenly spaced ones (about one in \(max(1, r.stepLines / max(1, r.steps.count))), and the last).</p>\n"
    }
    return rows
  }

  /// The whole page.
  public func html() -> String {
    var page = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>GradMix report: \(SVGChart.escape(runs.map(\.name).joined(separator: ", ")))</title>
      <style>
      body { font-family: sans-serif; margin: 20px; color: #222; }
      table { border-collapse: collapse; font-size: 13px; margin-bottom: 12px; }
      td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
      .charts { display: flex; flex-wrap: wrap; gap: 12px; }
      svg.chart { border: 1px solid #ddd; background: #fafafa; }
      footer { color: #777; font-size: 12px; margin-top: 20px; }
      </style></head><body>
      <h1>GradMix report</h1>
      \(summaryTable())
      """
    var lastSection = ""
    for (section, svg) in pictures() {
      if section != lastSection {
        if !lastSection.isEmpty { page += "</div>\n" }
        page += "<h2>\(SVGChart.escape(section))</h2>\n<div class=\"charts\">\n"
        lastSection = section
      }
      page += svg + "\n"
    }
    if !lastSection.isEmpty { page += "</div>\n" }
    page += layerShareTables()
    page +=
      "<footer>Written by \(SVGChart.escape(generator)) from \(runs.map { SVGChart.escape($0.path) }.joined(separator: ", ")).</footer>\n"
    return page + "</body></html>\n"
  }
}
