import Foundation

/// A small line or bar chart written as inline SVG (no scripts, no external
/// assets), so a report is one self-contained HTML file.
///
/// Choice: hand-written SVG instead of a plotting library; the charts need
/// only lines over steps, a legend and "nice" axis ticks (Heckbert, "Nice
/// numbers for graph labels", Graphics Gems, 1990).
public struct SVGChart {
  public struct Series {
    public let label: String
    public let color: String
    /// SVG `stroke-dasharray` (empty: solid), telling runs apart when colours stand for sources.
    public let dash: String
    public let points: [(x: Double, y: Double)]
    public init(label: String, color: String, dash: String = "", points: [(x: Double, y: Double)]) {
      self.label = label; self.color = color; self.dash = dash; self.points = points
    }
  }

  public var title: String
  public var xLabel = "step"
  public var yLabel = ""
  public var series: [Series] = []
  public var width = 560.0
  public var height = 300.0
  /// Fixed y range (e.g. 0...1 for weights); nil: from the data.
  public var yRange: ClosedRange<Double>?

  public init(title: String, yLabel: String = "", series: [Series] = []) {
    self.title = title; self.yLabel = yLabel; self.series = series
  }

  /// Colours for sources, in a fixed order (Okabe–Ito, readable by colour-blind readers).
  public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
  /// Dash patterns for runs, in a fixed order.
  public static let dashes = ["", "6,3", "2,2", "8,3,2,3", "1,4", "12,4"]

  /// Ticks at 1, 2 or 5 times a power of ten covering `lo...hi`.
  static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
    guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
    let raw = (hi - lo) / Double(count)
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    var t = ceil(lo / step) * step
    var out: [Double] = []
    while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
    return out
  }

  static func label(_ v: Double) -> String {
    if v == 0 { return "0" }
    if abs(v) >= 1e4 || abs(v) < 1e-3 { return String(format: "%.1e", v) }
    return String(format: "%g", (v * 1e6).rounded() / 1e6)
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// The chart as an `<svg>` element; a note instead when there is no data.
  public func svg() -> String {
    let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
    let left = 62.0, right = 12.0, top = 28.0, legendRows = Double((series.count + 2) / 3)
    let fullHeight = Int(height + 10 + 16 * legendRows)
    var out =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(fullHeight)\" "
    out += "viewBox=\"0 0 \(Int(width)) \(fullHeight)\" font-family=\"sans-serif\" font-size=\"11\">\n"
    out += "<title>\(SVGChart.escape(title))</title>\n"
    out +=
      "<text x=\"\(Int(width / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(SVGChart.escape(title))</text>\n"
    guard let x0 = all.map(\.x).min(), let x1 = all.map(\.x).max(), var y0 = all.map(\.y).min(),
      var y1 = all.map(\.y).max()
    else {
      out +=
        "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\" fill=\"#777\">no data in these runs</text>\n</svg>"
      return out
    }
    if let r = yRange { y0 = min(y0, r.lowerBound); y1 = max(y1, r.upperBound) }
    if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
    let xs = x1 > x0 ? (x0, x1) : (x0 - 1, x1 + 1)
    let plotW = width - left - right, plotH = height - top - 40
    func px(_ x: Double) -> Double { left + (x - xs.0) / (xs.1 - xs.0) * plotW }
    func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
    out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"white\" stroke=\"#999\"/>\n"
    for t in SVGChart.ticks(y0, y1) {
      let y = py(t)
      out += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eee\"/>"
      out += "<text x=\"\(left - 4)\" y=\"\(y + 4)\" text-anchor=\"end\">\(SVGChart.label(t))</text>\n"
    }
    for t in SVGChart.ticks(xs.0, xs.1) {
      let x = px(t)
      out += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(top + plotH)\" y2=\"\(top + plotH + 4)\" stroke=\"#999\"/>"
      out += "<text x=\"\(x)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\">\(SVGChart.label(t))</text>\n"
    }
    out +=
      "<text x=\"\(left + plotW / 2)\" y=\"\(top + plotH + 32)\" text-anchor=\"middle\">\(SVGChart.escape(xLabel))</text>\n"
    out +=
      "<text transform=\"translate(14,\(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(SVGChart.escape(yLabel))</text>\n"
    for s in series {
      let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
      guard !pts.isEmpty else { continue }
      let d = pts.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
      let dash = s.dash.isEmpty ? "" : " stroke-dasharray=\"\(s.dash)\""
      out +=
        "<polyline class=\"series\" data-label=\"\(SVGChart.escape(s.label))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"\(dash) points=\"\(d)\"/>\n"
      if pts.count == 1 {
        out += "<circle cx=\"\(px(pts[0].x))\" cy=\"\(py(pts[0].y))\" r=\"2.5\" fill=\"\(s.color)\"/>\n"
      }
    }
    for (i, s) in series.enumerated() {
      let lx = left + Double(i % 3) * (plotW / 3), ly = height + 10 + Double(i / 3) * 16
      let dash = s.dash.isEmpty ? "" : " stroke-dasharray=\"\(s.dash)\""
      out +=
        "<line x1=\"\(lx)\" x2=\"\(lx + 22)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash)/>"
      out += "<text x=\"\(lx + 26)\" y=\"\(ly)\">\(SVGChart.escape(String(s.label.prefix(40))))</text>\n"
    }
    out += "</svg>"
    return out
  }

  /// Horizontal stacked bars (one per label) of named parts, e.g. seconds per phase per rank.
  public static func stackedBars(
    title: String, unit: String, bars: [(label: String, parts: [Double])],
    partNames: [String], width: Double = 560
  ) -> String {
    let rowH = 20.0, left = 110.0, top = 28.0, legendRows = Double((partNames.count + 2) / 3)
    let height = top + Double(bars.count) * rowH + 30 + 16 * legendRows
    let total = bars.map { $0.parts.reduce(0, +) }.max() ?? 0
    var out =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
    out += "<title>\(escape(title))</title>\n"
    out +=
      "<text x=\"\(Int(width / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
    let plotW = width - left - 20
    for (i, bar) in bars.enumerated() {
      let y = top + Double(i) * rowH
      out += "<text x=\"\(left - 6)\" y=\"\(y + 14)\" text-anchor=\"end\">\(escape(bar.label))</text>\n"
      var x = left
      for (j, v) in bar.parts.enumerated() where v > 0 && total > 0 {
        let w = v / total * plotW
        out +=
          "<rect class=\"bar\" x=\"\(x)\" y=\"\(y + 2)\" width=\"\(w)\" height=\"\(rowH - 4)\" fill=\"\(palette[j % palette.count])\"><title>\(escape(partNames[j])): \(label(v)) \(unit)</title></rect>"
        x += w
      }
      out += "<text x=\"\(x + 4)\" y=\"\(y + 14)\">\(label(bar.parts.reduce(0, +))) \(unit)</text>\n"
    }
    for (j, n) in partNames.enumerated() {
      let lx = left + Double(j % 3) * (plotW / 3), ly = top + Double(bars.count) * rowH + 20 + Double(j / 3) * 16
      out += "<rect x=\"\(lx)\" y=\"\(ly - 9)\" width=\"12\" height=\"10\" fill=\"\(palette[j % palette.count])\"/>"
      out += "<text x=\"\(lx + 16)\" y=\"\(ly)\">\(escape(n))</text>\n"
    }
    return out + "</svg>"
  }
}
