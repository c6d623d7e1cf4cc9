import Foundation

extension DiskDataset {
  // MARK: - Footprint

  /// What ``load(split:shape:)`` holds, from headers and listings only (see ``DataFootprint``).
  ///
  /// - Throws: the readers' header errors.
  public func footprint(split: Split, shape: [Int]) throws -> DataFootprint {
    switch format {
    case .imagefolder:
      let (root, train, test, classes) = try imageFolderLayout(shape: shape)
      if ImageFolder.isDirectory(root + "/" + test) {
        return try ImageFolder.footprint(
          root: root, split: split == .train ? train : test, classes: classes, shape: shape,
          cacheDirectory: cacheDirectory)
      }
      return try ImageFolder.footprint(
        root: root, split: train, classes: classes, shape: shape, cacheDirectory: cacheDirectory
      )
      .partitioned(split, classes: classes.count)
    case .npz:
      let file = path ?? ""
      if let f = try NPZDataset.footprint(path: file, part: split.rawValue, arrays: arrays, layout: layout) {
        return f
      }
      guard let all = try NPZDataset.footprint(path: file, part: "train", arrays: arrays, layout: layout) else {
        // No train arrays: the reader names what is missing.
        return DataFootprint(what: file, count: 0, heldBytes: 0, peakBytes: 0)
      }
      return all.partitioned(split, classes: 256)
    case .idx:
      if let ti = testImages, testLabels != nil {
        return try IDX.imagesFootprint(split == .train ? images ?? "" : ti)
      }
      return try IDX.imagesFootprint(images ?? "").partitioned(split, classes: 256)
    }
  }
}
