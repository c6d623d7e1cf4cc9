/// Which ranks compute which source's gradient, and which rows of its batch.
///
/// Rank 0 is the coordinator: it holds the target data, so the target-derived
/// sources (the labelled target set as a source, the pseudo-labelled pool)
/// live there. The configured sources go round-robin over the worker ranks
/// 1..<worldSize, or over every rank when `coordinatorOwnsSources` is set
/// or the job has a single rank.
public struct SourcePlacement: Equatable, Sendable {
  /// Part of a source's mini-batch computed by one rank.
  public struct Shard: Equatable, Sendable {
    public let rank: Int
    /// The rows of the source's batch this rank computes.
    public let rows: Range<Int>
    public init(rank: Int, rows: Range<Int>) { self.rank = rank; self.rows = rows }
  }

  /// What the placement needs to know about one source.
  public struct Demand: Equatable, Sendable {
    /// The source's batch size.
    public let batchSize: Int
    /// Whether it is derived from the target data (target as source, pseudo-labels).
    public let targetDerived: Bool
    public init(batchSize: Int, targetDerived: Bool) { self.batchSize = batchSize; self.targetDerived = targetDerived }
  }

  /// `shards[k]`: the ranks computing source k and their rows, in rank order.
  public let shards: [[Shard]]
  public let worldSize: Int

  public init(sources: [Demand], worldSize: Int, coordinatorOwnsSources: Bool) {
    precondition(worldSize >= 1, "Bad placement request: \(sources.count) sources on \(worldSize) ranks.")
    self.worldSize = worldSize
    var next = 0
    shards = sources.map { d in
      let rank: Int
      if d.targetDerived || worldSize == 1 {
        rank = 0
      } else if coordinatorOwnsSources {
        rank = next % worldSize
        next += 1
      } else {
        rank = 1 + next % (worldSize - 1)
        next += 1
      }
      return [Shard(rank: rank, rows: 0..<d.batchSize)]
    }
  }

  /// Ranks that compute no source (they would idle every step).
  public var idleRanks: [Int] {
    let used = Set(shards.flatMap { $0.map(\.rank) }).union([0])
    return (0..<worldSize).filter { !used.contains($0) }
  }

  /// The sources rank `rank` computes (a shard of, or the whole batch).
  public func sources(of rank: Int) -> [Int] { shards.indices.filter { shards[$0].contains { $0.rank == rank } } }
}
