import Foundation

extension ImageFolder {
  // MARK: - Footprint

  /// What ``load(root:split:classes:channels:height:width:cacheDirectory:)`` holds,
  /// from the folder's listing only (no image is opened).
  ///
  /// Images are decoded straight into one array of the output shape; with the
  /// cache on, the set is held once more: in the cache file's buffer when it is
  /// written, or as the cache file's bytes when it is read. Decoding holds, per
  /// thread, a file's bytes and its decoded image. Choice: the decoded image is
  /// taken as 8 times the largest file (a photo's PNG or JPEG is rarely
  /// smaller than an eighth of its pixels); a larger one is still checked by
  /// the decoder's own limit.
  static func footprint(
    root: String, split: String, classes: [String], shape: [Int], cacheDirectory: String?
  ) throws -> DataFootprint {
    let files = try entries(root: root, split: split, classes: classes)
    let n = Double(files.count)
    let size = Double(shape.reduce(1, *))
    let held = n * size + 4 * n
    let largest = Double(files.map(\.size).max() ?? 0)
    let threads = Double(min(files.count, ProcessInfo.processInfo.activeProcessorCount))
    let cached = DecodedCache(name: "imagefolder-\(root)/\(split)", directory: cacheDirectory) != nil
    // The listing: a path string and its fields per file.
    let listing = n * 160
    return DataFootprint(
      what: "\(root)/\(split)", count: files.count, heldBytes: held,
      peakBytes: listing + (cached ? 2 : 1) * (held + 48) + threads * 9 * largest)
  }
}
