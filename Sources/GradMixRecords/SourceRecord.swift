/// One source's placement as summary.json and run.json list it (`sources`):
/// its name, the rank that owns it and, when split over ranks, each shard's rows.
public struct SourceRecord: Codable, Equatable, Sendable {
  /// One rank's rows of a sharded source: `rows` is `[lower, upper)`.
  public struct Shard: Codable, Equatable, Sendable {
    public var rank: Int
    public var rows: [Int]

    public init(rank: Int, rows: [Int]) {
      self.rank = rank
      self.rows = rows
    }
  }

  public var name: String
  public var rank: Int?
  /// Absent for a source on one rank.
  public var shards: [Shard]?

  public init(name: String, rank: Int?, shards: [Shard]? = nil) {
    self.name = name
    self.rank = rank
    self.shards = shards
  }

  /// The ranks holding the source: its shards' ranks, else its owner's.
  public var ranks: [Int] { shards.map { $0.map(\.rank) } ?? rank.map { [$0] } ?? [] }
}
