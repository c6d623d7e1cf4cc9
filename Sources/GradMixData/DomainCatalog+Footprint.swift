import Foundation

extension DomainCatalog {
  // MARK: - Footprint

  /// What ``build(_:split:seed:)`` holds, from headers and listings only (see ``DataFootprint``).
  ///
  /// The base as its reader holds it; then, for a domain with transforms or
  /// another stored sample size, the converted set (uint8 at ``sampleShape``,
  /// with its labels and the index order) while the base is still held.
  /// Choice: a base whose stored sample has as many bytes as ``sampleShape``
  /// is taken as already fitted (as an image folder, or 28x28x3 IDX data).
  ///
  /// - Throws: ``DataError/unknownDomain(name:known:)`` and the readers' header errors.
  public func footprint(_ name: String, split: Split) throws -> DataFootprint {
    guard let chain = chains[name] else { throw DataError.unknownDomain(name: name, known: names) }
    let base: DataFootprint
    switch chain.base {
    case .raw(let raw): base = try raw.footprint(split: split, root: dataRoot)
    case .disk(let disk): base = try disk.footprint(split: split, shape: sampleShape)
    }
    let size = Double(sampleShape.reduce(1, *))
    let n = Double(base.count)
    let storedSample = base.count > 0 ? (base.heldBytes - 4 * n) / n : 0
    if sampleShape.count != 3 || (chain.steps.isEmpty && storedSample == size) { return base }
    let converted = n * size + 4 * n
    return DataFootprint(
      what: base.what, count: base.count, heldBytes: converted,
      peakBytes: max(base.peakBytes, base.heldBytes + converted + 8 * n))
  }
}
