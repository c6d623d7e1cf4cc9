import GradMixDistributed

/// What every rank needs from every other rank to solve one step's weights:
/// the one small value the step exchanges (one allreduce of its packed form).
///
/// Each rank fills the entries of the sources (or shards of sources) it
/// computed and zeros elsewhere; the coordinator adds the target's entries.
/// Every field is a sum over ranks, so the allreduce of the packed buffer is
/// the exchange. Fields that are sums over shards of a source's batch:
/// `dots` (the dot product is linear in the source gradient, and each shard
/// contributes its batch fraction), `losses`, `present` and `finite`.
/// `sourceSquaredNorms` is a sum over shards of the shards' norms, which is
/// the whole source gradient's norm only when the source is not sharded;
/// for a rule that reads it (``WeightingRule/needsWholeSourceNorms``) the
/// shards are summed in a group first and only the group's first rank
/// reports the source's `dots` and `sourceSquaredNorms` (``ShardGroups``).
///
/// The label scores (``LabelSignature``, zero unless the rule reads them)
/// are whole-source values like `sourceSquaredNorms`: a rule that reads them
/// needs whole-source norms.
///
/// The class cosines (``LabelSignature/classCosines(against:into:present:)``)
/// are whole-source values too; C = `classCount` is 0 unless the rule reads them.
///
/// Packed layout (Choice), K sources, L layers and C classes, 2KL + L + 4K + 3 + KC² + KC + C doubles:
/// `dots` (K×L, row k = source k), `sourceSquaredNorms` (K×L),
/// `targetSquaredNorms` (L), `present` (K), `finite` (K), `losses` (K),
/// `labelScores` (K), `metaLoss`, `metaCount`, `stopRequests`, `classCosines` (K×C²),
/// `classPresence` (K×C), `targetClasses` (C). Only ``pack(into:)`` and
/// ``init(sources:layers:unpacking:)`` know it (Horovod's `message.h` does the
/// same for its requests).
public struct StepStatistics: Equatable, Sendable {
  public let sourceCount: Int
  public let layerCount: Int
  /// C, the classes of the class cosines (0 when the rule reads no label scores).
  public let classCount: Int
  /// `dots[k][l] = ⟨g_T,l, g_k,l⟩` (0 for a source that is absent or non-finite).
  public var dots: [[Double]]
  /// `sourceSquaredNorms[k][l] = ‖g_k,l‖²` (0 for a source that is absent or non-finite).
  public var sourceSquaredNorms: [[Double]]
  /// `targetSquaredNorms[l] = ‖g_T,l‖²` (filled by the coordinator only).
  public var targetSquaredNorms: [Double]
  /// How many shards of source k computed a gradient this step (0: absent).
  public var present: [Double]
  /// How many of those had a finite loss and a finite gradient.
  public var finite: [Double]
  /// Source k's mini-batch loss (its shards' batch-weighted parts, summed).
  public var losses: [Double]
  /// Source k's label score, cos(Λ_k, Λ̄_T) (``LabelSignature``; 0 unless the rule reads them),
  /// filled by the rank that reports the source.
  public var labelScores: [Double]
  /// `classCosines[k][c·C + t] = cos(Λ_k,c, Λ̄_T,t)` for the classes c of source k's batch and the
  /// target's classes t (``LabelSignature/classCosines(against:into:present:)``; 0 elsewhere),
  /// filled by the rank that reports the source.
  public var classCosines: [[Double]]
  /// `classPresence[k][c]` = 1 if row c of source k's batch was measured, else 0.
  public var classPresence: [[Double]]
  /// `targetClasses[t]` = 1 if the target's Λ̄_T has class t (filled by the coordinator only).
  public var targetClasses: [Double]
  /// The target (meta) batch's loss, and 1 if it was computed (coordinator only).
  public var metaLoss: Double
  public var metaCount: Double
  /// Ranks that received SIGINT/SIGTERM: stop after this step.
  public var stopRequests: Double

  /// All zero.
  public init(sources k: Int, layers l: Int, classes c: Int = 0) {
    sourceCount = k
    layerCount = l
    classCount = c
    dots = [[Double]](repeating: [Double](repeating: 0, count: l), count: k)
    sourceSquaredNorms = dots
    targetSquaredNorms = [Double](repeating: 0, count: l)
    present = [Double](repeating: 0, count: k)
    finite = present
    losses = present
    labelScores = present
    classCosines = [[Double]](repeating: [Double](repeating: 0, count: c * c), count: k)
    classPresence = [[Double]](repeating: [Double](repeating: 0, count: c), count: k)
    targetClasses = [Double](repeating: 0, count: c)
    metaLoss = 0
    metaCount = 0
    stopRequests = 0
  }

  /// Length of the packed form.
  public static func packedCount(sources k: Int, layers l: Int, classes c: Int = 0) -> Int {
    2 * k * l + l + 4 * k + 3 + k * c * c + k * c + c
  }
  public var packedCount: Int { Self.packedCount(sources: sourceCount, layers: layerCount, classes: classCount) }

  // MARK: - Pack and unpack

  /// Writes the packed form into `buffer` (exactly ``packedCount`` doubles).
  public func pack(into buffer: UnsafeMutableBufferPointer<Double>) {
    precondition(
      buffer.count == packedCount, "The buffer holds \(buffer.count) doubles, the statistics \(packedCount).")
    var i = 0
    func put(_ v: Double) { buffer[i] = v; i += 1 }
    for row in dots { row.forEach(put) }
    for row in sourceSquaredNorms { row.forEach(put) }
    targetSquaredNorms.forEach(put)
    present.forEach(put)
    finite.forEach(put)
    losses.forEach(put)
    labelScores.forEach(put)
    put(metaLoss)
    put(metaCount)
    put(stopRequests)
    for row in classCosines { row.forEach(put) }
    for row in classPresence { row.forEach(put) }
    targetClasses.forEach(put)
  }

  /// Reads the packed form written by ``pack(into:)``.
  public init(sources k: Int, layers l: Int, classes c: Int = 0, unpacking buffer: UnsafeBufferPointer<Double>) {
    self.init(sources: k, layers: l, classes: c)
    precondition(
      buffer.count == packedCount, "The buffer holds \(buffer.count) doubles, the statistics \(packedCount).")
    var i = 0
    func take() -> Double { defer { i += 1 }; return buffer[i] }
    func takeRow(_ n: Int) -> [Double] { (0..<n).map { _ in take() } }
    dots = (0..<k).map { _ in takeRow(l) }
    sourceSquaredNorms = (0..<k).map { _ in takeRow(l) }
    targetSquaredNorms = takeRow(l)
    present = takeRow(k)
    finite = takeRow(k)
    losses = takeRow(k)
    labelScores = takeRow(k)
    metaLoss = take()
    metaCount = take()
    stopRequests = take()
    classCosines = (0..<k).map { _ in takeRow(c * c) }
    classPresence = (0..<k).map { _ in takeRow(c) }
    targetClasses = takeRow(c)
  }

  /// Sums these statistics over the ranks of `communicator` (one allreduce).
  public mutating func allreduce(_ communicator: Communicator) throws {
    guard communicator.worldSize > 1 else { return }
    var buffer = [Double](repeating: 0, count: packedCount)
    buffer.withUnsafeMutableBufferPointer { pack(into: $0) }
    try buffer.withUnsafeMutableBufferPointer { try communicator.allreduceSum(inPlace: $0) }
    self = buffer.withUnsafeBufferPointer {
      StepStatistics(sources: sourceCount, layers: layerCount, classes: classCount, unpacking: $0)
    }
  }

  // MARK: - Views

  /// Source k took part (every shard computed) and every part was finite.
  public var active: [Bool] { (0..<sourceCount).map { present[$0] > 0 && finite[$0] == present[$0] } }

  /// Sources that computed a gradient but a non-finite one.
  public var nonFinite: [Int] { (0..<sourceCount).filter { present[$0] > 0 && finite[$0] != present[$0] } }

  /// The meta loss, if the coordinator computed one.
  public var meta: Double? { metaCount > 0 ? metaLoss : nil }
}
