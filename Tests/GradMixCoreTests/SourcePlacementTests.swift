import GradMixCore
import Testing

@Suite("Source placement")
struct SourcePlacementTests {
  static func configured(_ batches: [Int]) -> [SourcePlacement.Demand] {
    batches.map { .init(batchSize: $0, targetDerived: false) }
  }

  /// The single rank of each source (nil where split).
  static func owners(_ p: SourcePlacement) -> [Int?] { p.shards.map { $0.count == 1 ? $0[0].rank : nil } }

  @Test("equal sources go round-robin over the workers, rank 0 only in one process or when allowed")
  func roundRobin() {
    let eight = SourcePlacement(
      sources: Self.configured(Array(repeating: 8, count: 8)), worldSize: 5,
      coordinatorOwnsSources: false, metaBatch: 8)
    #expect(Self.owners(eight) == [1, 2, 3, 4, 1, 2, 3, 4])
    #expect(
      Self.owners(
        SourcePlacement(
          sources: Self.configured([8, 8, 8]), worldSize: 1, coordinatorOwnsSources: false,
          metaBatch: 8)) == [0, 0, 0])
    // Rank 0 carries the meta batch; with --coordinator-owns-sources it takes a source when it is the least
    // loaded (on a tie a worker goes first: rank 0 also evaluates and writes).
    #expect(
      Self.owners(
        SourcePlacement(
          sources: Self.configured([8, 8, 8]), worldSize: 2, coordinatorOwnsSources: true,
          metaBatch: 8)) == [1, 1, 0])
    #expect(
      Self.owners(
        SourcePlacement(
          sources: Self.configured([8, 8, 8]), worldSize: 2, coordinatorOwnsSources: false,
          metaBatch: 8)) == [1, 1, 1])
  }

  @Test("the target as a source goes to a worker when rank 0 already carries the meta batch")
  func targetSourceOnWorker() {
    let p = SourcePlacement(
      sources: Self.configured([32]) + [.init(batchSize: 32, targetDerived: true)], worldSize: 3,
      coordinatorOwnsSources: false, metaBatch: 32)
    #expect(Self.owners(p) == [1, 2])
    #expect(p.loads == [32, 32, 32])
  }

  @Test("sources of unequal cost are balanced longest first")
  func unequalCosts() {
    let p = SourcePlacement(
      sources: Self.configured([16, 64, 16, 32]), worldSize: 4, coordinatorOwnsSources: false,
      metaBatch: 32)
    #expect(Self.owners(p) == [3, 1, 3, 2])
    #expect(p.loads == [32, 64, 32, 32])
  }

  @Test("more ranks than sources: batches are split into shards of contiguous rows on distinct ranks")
  func shards() {
    let p = SourcePlacement(
      sources: Self.configured([10, 10]), worldSize: 5, coordinatorOwnsSources: false, metaBatch: 10)
    #expect(p.idleRanks.isEmpty && p.isSharded)
    for s in p.shards {
      #expect(s.count == 2)
      #expect(Set(s.map(\.rank)).count == s.count)
      #expect(s.map(\.rows.count).reduce(0, +) == 10)
      #expect(Set(s.flatMap { Array($0.rows) }) == Set(0..<10))
    }
    // The costlier source is split first.
    let q = SourcePlacement(
      sources: Self.configured([10, 30]), worldSize: 4, coordinatorOwnsSources: false, metaBatch: 10)
    #expect(q.shards.map(\.count) == [1, 2])
    #expect(q.loads == [10, 15, 15, 10])
  }

  @Test("ranks that even split batches cannot fill are reported")
  func idle() {
    let p = SourcePlacement(sources: Self.configured([2]), worldSize: 5, coordinatorOwnsSources: false, metaBatch: 2)
    #expect(p.shards[0].count == 2)
    #expect(p.idleRanks == [3, 4])
  }

  @Test("with the target gradient recomputed, every rank starts with the meta batch")
  func recompute() {
    let p = SourcePlacement(
      sources: Self.configured([8, 8]) + [.init(batchSize: 8, targetDerived: true)], worldSize: 3,
      coordinatorOwnsSources: false, metaBatch: 8, metaOnEveryRank: true)
    #expect(p.loads == [16, 16, 16])
    #expect(Self.owners(p) == [1, 2, 0])
  }

  /// Rules on whole-source norms sum a split source's shards in a group of
  /// its ranks; only the group's first rank reports. Dot-product rules keep
  /// every shard reporting and form no group.
  @Test("shard groups: split sources summed for norm-based rules, first rank reports; none for dot rules")
  func shardGroups() {
    // 2 sources of 10 and 30 rows on 6 ranks: the second is split over 3 ranks, the first over 2.
    let p = SourcePlacement(
      sources: Self.configured([10, 30]), worldSize: 6, coordinatorOwnsSources: false,
      metaBatch: 10)
    #expect(p.shards.map(\.count) == [2, 3])
    let norms = ShardGroups(shards: p.shards, wholeSourceNorms: true)
    #expect(norms.summed == [0, 1])
    for k in 0..<2 {
      let ranks = p.shards[k].map(\.rank)
      #expect(norms.reporting[k] == [p.shards[k][0]])
      #expect(norms.reporting[k][0].rank == ranks.min())
      for r in 0..<6 {
        #expect(norms.color(source: k, rank: r) == (ranks.contains(r) ? 1 : 0), "source \(k), rank \(r)")
        #expect(norms.reports(source: k, rank: r) == (r == ranks.min()), "source \(k), rank \(r)")
      }
    }
    let dots = ShardGroups(shards: p.shards, wholeSourceNorms: false)
    #expect(dots.summed.isEmpty)
    #expect(dots.reporting == p.shards)
    for (k, shards) in p.shards.enumerated() {
      for shard in shards { #expect(dots.reports(source: k, rank: shard.rank)) }
    }
    // Whole sources (no split) are never summed, whatever the rule.
    let whole = SourcePlacement(
      sources: Self.configured([10, 10]), worldSize: 3, coordinatorOwnsSources: false,
      metaBatch: 10)
    let g = ShardGroups(shards: whole.shards, wholeSourceNorms: true)
    #expect(g.summed.isEmpty && g.reporting == whole.shards)
  }
}
