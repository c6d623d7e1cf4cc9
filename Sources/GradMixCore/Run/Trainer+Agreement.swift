import GradMixEngine

extension Trainer {
  /// Checks that every rank holds the same parameters (sum and sum of
  /// squares, compared bit for bit); throws if they have diverged.
  func checkAgreement(step t: Int) throws {
    guard comm.worldSize > 1 else { return }
    var sum = 0.0
    for i in 0..<parameters.count { sum += Double(parameters.storage[i]) }
    let mine = [sum, BLAS.dot(UnsafeBufferPointer(parameters.storage), UnsafeBufferPointer(parameters.storage))]
    var all = [Double](repeating: 0, count: 2 * comm.worldSize)
    try step.timers.time(\.communication) {
      try mine.withUnsafeBufferPointer { s in try all.withUnsafeMutableBufferPointer { try comm.allgather(s, into: $0) }
      }
    }
    for r in 1..<comm.worldSize where all[2 * r] != all[0] || all[2 * r + 1] != all[1] {
      throw TrainingError.diverged(
        step: t, rank: r, detail: "checksum \(all[2 * r]), \(all[2 * r + 1]) vs rank 0's \(all[0]), \(all[1])")
    }
  }

  /// Checks at start-up that every rank built the same model layout and the
  /// same list of sources (a very small version of Horovod's agreement).
  func checkLayout() throws {
    guard comm.worldSize > 1 else { return }
    let mine: [Int64] = [Int64(model.layout.count), Int64(bitPattern: model.layout.hash), Int64(sources.count)]
    var lo = mine, hi = mine
    try lo.withUnsafeMutableBufferPointer { try comm.allreduceMin(inPlace: $0) }
    try hi.withUnsafeMutableBufferPointer { try comm.allreduceMax(inPlace: $0) }
    guard lo == hi else {
      throw TrainingError.layoutMismatch(
        detail: "parameter count, layout hash and source count range over \(lo) ... \(hi)")
    }
  }
}
