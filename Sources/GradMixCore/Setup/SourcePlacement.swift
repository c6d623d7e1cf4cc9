/// Which ranks compute which source's gradient, and which rows of its batch.
///
/// Every rank builds the same placement from the same inputs (no
/// communication). Choice (cost model): a source's cost per step is its
/// batch size (one forward and backward pass per row), and rank 0 (or every
/// rank, with `--target-gradient recompute`) starts loaded with the meta
/// batch of the target gradient.
///
/// - Whole sources and shards are placed longest-first on the least-loaded
///   rank allowed (ties: a worker before rank 0, then the lowest rank), so
///   sources of unequal cost are balanced over ranks and no rank carries two
///   passes while another idles where that can be avoided (Graham's LPT rule,
///   "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math. 1969).
/// - Configured sources go to workers 1..<worldSize (every rank with
///   `coordinatorOwnsSources`, or in a one-process run); target-derived
///   sources (target as source, pseudo-labels) may go to any rank, the
///   owner then loads the target data.
/// - While some rank would compute nothing, the source with the largest
///   cost per shard is split into one more shard (its batch rows divided as
///   evenly as possible, at least one row each), and the placement is redone.
///   Shards of one source go to distinct ranks.
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
  /// Each rank's cost per step (rows of forward/backward, meta batch included).
  public let loads: [Int]

  /// - Parameters:
  ///   - metaBatch: the meta batch's rows, carried by rank 0 (0: no target gradient).
  ///   - metaOnEveryRank: every rank computes the target gradient (`recompute`).
  public init(
    sources: [Demand], worldSize: Int, coordinatorOwnsSources: Bool, metaBatch: Int = 0,
    metaOnEveryRank: Bool = false
  ) {
    precondition(worldSize >= 1, "Bad placement request: \(sources.count) sources on \(worldSize) ranks.")
    precondition(sources.allSatisfy { $0.batchSize >= 1 }, "Every source needs a batch of at least one row.")
    self.worldSize = worldSize
    let allowed: [[Int]] = sources.map { d in
      worldSize == 1 || d.targetDerived || coordinatorOwnsSources ? Array(0..<worldSize) : Array(1..<worldSize)
    }
    var counts = [Int](repeating: 1, count: sources.count)
    var result = Self.assign(
      sources, counts: counts, allowed: allowed, worldSize: worldSize, metaBatch: metaBatch,
      metaOnEveryRank: metaOnEveryRank)
    while !Self.idle(result.shards, worldSize: worldSize).isEmpty {
      // Split the source with the largest cost per shard that can still be split.
      let candidates = sources.indices.filter { counts[$0] < sources[$0].batchSize && counts[$0] < allowed[$0].count }
      guard
        let k = candidates.max(by: {
          sources[$0].batchSize * counts[$1] < sources[$1].batchSize * counts[$0]
            || (sources[$0].batchSize * counts[$1] == sources[$1].batchSize * counts[$0] && $0 > $1)
        })
      else { break }
      counts[k] += 1
      result = Self.assign(
        sources, counts: counts, allowed: allowed, worldSize: worldSize, metaBatch: metaBatch,
        metaOnEveryRank: metaOnEveryRank)
    }
    shards = result.shards
    loads = result.loads
  }

  /// Longest-first placement of the shards given by `counts`.
  static func assign(
    _ sources: [Demand], counts: [Int], allowed: [[Int]], worldSize: Int, metaBatch: Int,
    metaOnEveryRank: Bool
  ) -> (shards: [[Shard]], loads: [Int]) {
    var loads = [Int](repeating: metaOnEveryRank ? metaBatch : 0, count: worldSize)
    loads[0] = metaBatch
    var units: [(source: Int, rows: Range<Int>)] = []
    for (k, d) in sources.enumerated() {
      for i in 0..<counts[k] {
        units.append((k, (d.batchSize * i / counts[k])..<(d.batchSize * (i + 1) / counts[k])))
      }
    }
    // Longest first; ties in source and row order (a stable order every rank agrees on).
    let order = units.indices.sorted { a, b in
      units[a].rows.count != units[b].rows.count ? units[a].rows.count > units[b].rows.count : a < b
    }
    var shards = [[Shard]](repeating: [], count: sources.count)
    for u in order {
      let (k, rows) = units[u]
      let free = allowed[k].filter { r in !shards[k].contains { $0.rank == r } }
      guard
        let rank = free.min(by: { a, b in
          loads[a] != loads[b] ? loads[a] < loads[b] : (a == 0) != (b == 0) ? b == 0 : a < b
        })
      else { preconditionFailure("Source \(k) has more shards than ranks it may use.") }
      loads[rank] += rows.count
      shards[k].append(Shard(rank: rank, rows: rows))
    }
    return (shards.map { $0.sorted { $0.rank < $1.rank } }, loads)
  }

  static func idle(_ shards: [[Shard]], worldSize: Int) -> [Int] {
    let used = Set(shards.flatMap { $0.map(\.rank) }).union([0])
    return (0..<worldSize).filter { !used.contains($0) }
  }

  /// Ranks that compute no source even after splitting (they would idle every step).
  public var idleRanks: [Int] { Self.idle(shards, worldSize: worldSize) }

  /// Whether some source's batch is split over several ranks.
  public var isSharded: Bool { shards.contains { $0.count > 1 } }

  /// The sources rank `rank` computes (a shard of, or the whole batch).
  public func sources(of rank: Int) -> [Int] { shards.indices.filter { shards[$0].contains { $0.rank == rank } } }
}
