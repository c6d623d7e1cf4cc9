import Foundation

extension IDX {
  // MARK: - Footprint

  /// What reading an image file and its labels holds, from the two headers only.
  ///
  /// The body is read into one array of its exact size through 64 MiB chunks
  /// (``read(_:)``); the labels come as bytes and as `Int32`.
  ///
  /// - Throws: the header errors of ``read(_:)``, and its error for a header promising more than the file holds.
  static func imagesFootprint(_ path: String) throws -> DataFootprint {
    let file = try FileStream(path)
    let (dims, product) = try header(file)
    // A header promising more than the file can hold is the reader's error, given here already.
    try checkHolds(file, expected: 4 + 4 * dims.count + product)
    let count = dims.first ?? 0
    let sample = count > 0 ? product / count : 0
    return DataFootprint.base(
      what: path, count: count, sampleBytes: sample, readExtra: Double(min(product, 1 << 26)))
  }
}
