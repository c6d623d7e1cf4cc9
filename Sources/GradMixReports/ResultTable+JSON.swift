import Foundation

extension ResultTable {
  /// One group of `gradmix table --format json`: the numbers of the CSV row
  /// (fractions, not percentages) plus each seed's value, so a script (the
  /// suite report) takes every mean, interval and paired difference from here.
  /// Undefined numbers (one seed, no common seeds) are left out.
  public struct GroupRecord: Codable, Equatable {
    public var group: String
    public var n: Int
    public var mean: Double
    public var sd: Double?
    public var ci95HalfWidth: Double?
    /// Seed → value.
    public var values: [String: Double]
    public var diffPairs: Int?
    public var diffMean: Double?
    public var diffCi95HalfWidth: Double?

    enum CodingKeys: String, CodingKey {
      case group, n, mean, sd, values
      case ci95HalfWidth = "ci95_half_width", diffPairs = "diff_pairs", diffMean = "diff_mean"
      case diffCi95HalfWidth = "diff_ci95_half_width"
    }
  }

  /// The whole table as `gradmix table --format json` prints it.
  public struct Record: Codable, Equatable {
    public var keys: [String]
    public var metric: String
    public var baseline: String?
    public var groups: [GroupRecord]
    public var skipped: [String]
  }

  /// One table `gradmix table --values FILE` computes: its groups' values (seed → value), in
  /// order, and the group the others are paired with (FILE holds a JSON list of these).
  public struct Request: Codable, Equatable {
    public struct Group: Codable, Equatable {
      public var group: String
      public var values: [String: Double]

      public init(group: String, values: [String: Double]) {
        self.group = group
        self.values = values
      }
    }
    public var metric: String
    public var baseline: String?
    public var groups: [Group]

    public init(metric: String, baseline: String?, groups: [Group]) {
      self.metric = metric
      self.baseline = baseline
      self.groups = groups
    }
  }

  /// The table of `request`'s values.
  /// - Throws: ``RunFolderError`` if its baseline names no group.
  public init(_ request: Request) throws {
    try self.init(
      groups: request.groups.map { ($0.group, $0.values) }, keys: ["group"], metric: request.metric,
      baseline: request.baseline)
  }

  public var record: Record {
    Record(
      keys: keys, metric: metric, baseline: baseline,
      groups: rows.map { r in
        GroupRecord(
          group: r.group, n: r.estimate.count, mean: r.estimate.mean, sd: r.estimate.standardDeviation,
          ci95HalfWidth: r.estimate.halfWidth, values: r.values, diffPairs: r.difference?.count,
          diffMean: r.difference?.mean, diffCi95HalfWidth: r.difference?.halfWidth)
      }, skipped: skipped)
  }

  /// JSON (sorted keys, one document); a non-finite number cannot be written and throws.
  public func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    return String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
  }
}
