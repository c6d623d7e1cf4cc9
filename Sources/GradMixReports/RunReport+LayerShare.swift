import Foundation

extension RunReport {
  /// Per run whose summary.json has `layer_open_share`: a table of each
  /// source's share of steps open (weight > 0) and mean weight per layer, over
  /// the steps after the first fifth of the run (issue #26); empty without one.
  func layerShareTables() -> String {
    var html = ""
    for r in runs {
      guard let open = r.summary?.layerOpenShare, let mean = r.summary?.layerMeanWeight,
        let layers = r.summary?.layers, !open.isEmpty
      else { continue }
      let from = r.string(for: "layer_share_from_step") ?? "?"
      html += "<p>\(SVGChart.escape(r.name)): share of steps open / mean weight, steps after \(from)</p>\n"
      html += "<table><tr><th>source</th>" + layers.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr>\n"
      for name in open.keys.sorted() {
        let o = open[name] ?? [], m = mean[name] ?? []
        let cells = layers.indices.map { j -> String in
          guard j < o.count, j < m.count, o[j].isFinite, m[j].isFinite else { return "<td>—</td>" }
          return String(format: "<td>%.2f / %.3f</td>", o[j], m[j])
        }
        html += "<tr><td>\(SVGChart.escape(name))</td>" + cells.joined() + "</tr>\n"
      }
      html += "</table>\n"
    }
    return html.isEmpty ? "" : "<h2>Sources open per layer</h2>\n" + html
  }
}
