import Foundation

extension RawDataset {
  // MARK: - Footprint

  /// What ``load(split:root:)`` holds, from headers only (see ``DataFootprint``).
  ///
  /// - Throws: the header errors of the files.
  public func footprint(split: Split, root: String) throws -> DataFootprint {
    let dir = root + "/" + rawValue
    switch self {
    case .mnist:
      if RawDataset.mnistIsSubset(dir) {
        return try DigitsCSV.footprint(dir + "/mnist_5k.csv.gz", side: 28).partitioned(
          split, classes: RawDataset.classCount)
      }
      return try IDX.imagesFootprint(
        RawDataset.locate(dir + "/\(split == .train ? "train" : "t10k")-images-idx3-ubyte"))
    case .fashion:
      return try IDX.imagesFootprint(
        RawDataset.locate(dir + "/\(split == .train ? "train" : "t10k")-images-idx3-ubyte"))
    case .syndigits:
      return try IDX.imagesFootprint(RawDataset.locate(dir + "/\(split.rawValue)-images-idx4-ubyte"))
    case .uci:
      let part = try DigitsCSV.footprint(dir + "/digits.csv.gz", side: 8).partitioned(
        split, classes: RawDataset.classCount)
      // Upsampled to 28x28 (one grey channel) by appending, while the partition is held.
      let upsampled = Double(part.count) * 784
      return DataFootprint(
        what: part.what, count: part.count, heldBytes: upsampled + 4 * Double(part.count),
        peakBytes: max(part.peakBytes, part.heldBytes + 2 * upsampled))
    }
  }
}
