import Foundation

/// Runs grouped by one or more keys, with a metric's mean and 95% Student-t
/// interval over the seeds of each group, and optionally each group's paired
/// difference (matched by seed) against a baseline group.
///
/// Choice: paired differences, because runs with the same seed share the
/// data split and initialisation, so the seed-to-seed spread largely cancels
/// in the difference (the interval of the paired difference is usually much
/// narrower than the two groups' intervals suggest).
public struct ResultTable {
  public struct Row {
    public let group: String
    public let estimate: Statistics.Estimate
    /// Seed → value.
    public let values: [String: Double]
    /// The paired difference to the baseline (nil for the baseline itself or without one).
    public let difference: Statistics.Estimate?
  }

  public let keys: [String]
  public let metric: String
  public let baseline: String?
  public let rows: [Row]
  /// Runs without the metric (unfinished), left out of the table.
  public let skipped: [String]

  /// Groups `runs` by `keys` (joined with `, `); pairs by `seed`.
  /// - Throws: ``RunFolderError`` if `baseline` names no group.
  public init(runs: [RunFolder], keys: [String], metric: String, baseline: String?) throws {
    var groups: [String: [String: Double]] = [:]
    var order: [String] = []
    var skipped: [String] = []
    for run in runs {
      guard let v = run.number(for: metric), v.isFinite else { skipped.append(run.name); continue }
      let g = keys.map { run.string(for: $0) ?? "?" }.joined(separator: ", ")
      if groups[g] == nil { order.append(g) }
      var seed = run.string(for: "seed") ?? run.name
      while groups[g]?[seed] != nil { seed += "'" }  // two runs of one seed: keep both, unpaired
      groups[g, default: [:]][seed] = v
    }
    try self.init(
      groups: order.map { ($0, groups[$0] ?? [:]) }, keys: keys, metric: metric, baseline: baseline, skipped: skipped)
  }

  /// The table of values given per group (seed → value), in this order: what the runs'
  /// initialiser builds, and what `gradmix table --values` reads (the suite report's values).
  /// - Throws: ``RunFolderError`` if `baseline` names no group.
  public init(
    groups list: [(group: String, values: [String: Double])], keys: [String], metric: String, baseline: String?,
    skipped: [String] = []
  ) throws {
    self.keys = keys
    self.metric = metric
    self.baseline = baseline
    let order = list.map(\.group)
    let groups = Dictionary(list.map { ($0.group, $0.values) }, uniquingKeysWith: { a, _ in a })
    if let baseline, groups[baseline] == nil {
      throw RunFolderError(
        path: "--baseline", detail: "no group '\(baseline)' (groups: \(order.joined(separator: "; ")))")
    }
    rows = order.map { g in
      let values = groups[g] ?? [:]
      let estimate = Statistics.estimate(values.keys.sorted().compactMap { values[$0] })
      var diff: Statistics.Estimate?
      if let baseline, baseline != g, let base = groups[baseline] {
        let d = Statistics.pairedDifferences(values, base)
        if !d.isEmpty { diff = Statistics.estimate(d) }
      }
      return Row(group: g, estimate: estimate, values: values, difference: diff)
    }
    self.skipped = skipped
  }

  // MARK: - Rendering

  /// Accuracies print as percentages, other metrics as they are.
  var percent: Bool { metric.contains("accuracy") }

  func format(_ v: Double) -> String {
    percent ? String(format: "%.2f", v * 100) : String(format: "%.4g", v)
  }

  func format(_ e: Statistics.Estimate) -> String {
    guard let h = e.halfWidth else { return format(e.mean) }
    return "\(format(e.mean)) ± \(format(h))"
  }

  /// A Markdown table.
  public func markdown() -> String {
    let unit = percent ? " (%)" : ""
    var head = ["\(keys.joined(separator: ", "))", "n", "\(metric)\(unit), mean ± 95% CI"]
    if let baseline { head.append("paired Δ vs \(baseline)\(unit) ± 95% CI") }
    var lines = [
      "| " + head.joined(separator: " | ") + " |", "|" + head.map { _ in "---" }.joined(separator: "|") + "|",
    ]
    for r in rows {
      var cells = [r.group, "\(r.estimate.count)", format(r.estimate)]
      if let baseline {
        cells.append(
          r.group == baseline ? "—" : r.difference.map { "\(format($0)) (\($0.count) pairs)" } ?? "no common seeds")
      }
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// CSV with raw numbers (fractions, not percentages); empty cells where undefined.
  public func csv() -> String {
    func q(_ s: String) -> String {
      s.contains(where: { ",\"\n".contains($0) }) ? "\"\(s.replacingOccurrences(of: "\"", with: "\"\""))\"" : s
    }
    func n(_ v: Double?) -> String { v.map { String($0) } ?? "" }
    var lines = ["group,n,mean,sd,ci95_half_width,diff_pairs,diff_mean,diff_ci95_half_width"]
    for r in rows {
      let d = r.difference
      lines.append(
        [
          q(r.group), "\(r.estimate.count)", n(r.estimate.mean), n(r.estimate.standardDeviation),
          n(r.estimate.halfWidth), d.map { "\($0.count)" } ?? "", n(d?.mean), n(d?.halfWidth),
        ]
        .joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
