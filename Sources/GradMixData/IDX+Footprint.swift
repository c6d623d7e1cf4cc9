import Foundation

extension IDX {
  // MARK: - Footprint

  /// What reading an image file and its labels holds, from the two headers only.
  ///
  /// The body is read into one array of its exact size through 64 MiB chunks
  /// (``read(_:)``); the labels come as bytes and as `Int32`.
  ///
  /// - Throws: the header errors of ``read(_:)``.
  static func imagesFootprint(_ path: String) throws -> DataFootprint {
    let (dims, product) = try header(try FileStream(path))
    let count = dims.first ?? 0
    let sample = count > 0 ? product / count : 0
    return DataFootprint.base(
      what: path, count: count, sampleBytes: sample, readExtra: Double(min(product, 1 << 26)))
  }
}
