/// Which rank computes which source's gradient.
///
/// Rank 0 is the coordinator: it holds the target data, so the target-derived
/// sources (the labelled target set as a source, the pseudo-labelled pool)
/// live there. The configured sources go round-robin over the worker ranks
/// 1..<worldSize, or over every rank when `coordinatorOwnsSources` is set
/// or the job has a single rank.
public struct SourcePlacement: Equatable, Sendable {
  /// `owner[k]` is the rank of configured source k.
  public let owner: [Int]
  public let worldSize: Int

  public init(sourceCount: Int, worldSize: Int, coordinatorOwnsSources: Bool) {
    precondition(worldSize >= 1 && sourceCount >= 0, "Bad placement request: \(sourceCount) sources on \(worldSize) ranks.")
    self.worldSize = worldSize
    if worldSize == 1 {
      owner = Array(repeating: 0, count: sourceCount)
    } else if coordinatorOwnsSources {
      owner = (0..<sourceCount).map { $0 % worldSize }
    } else {
      owner = (0..<sourceCount).map { 1 + $0 % (worldSize - 1) }
    }
  }

  /// Ranks that own no source (they would idle every step).
  public var idleRanks: [Int] {
    let used = Set(owner).union([0])
    return (0..<worldSize).filter { !used.contains($0) }
  }

  /// The configured sources rank `rank` computes.
  public func sources(of rank: Int) -> [Int] { owner.indices.filter { owner[$0] == rank } }
}
