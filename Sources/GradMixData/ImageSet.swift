import GradMixEngine

/// Labelled samples: uint8 images stored as `[N, H, W, C]` (each image
/// interleaved HWC with rows from top to bottom, exactly like an IDX image
/// file), or float feature vectors stored as `[N, D]`.
///
/// This is the data layer's currency: readers produce it, domains and tasks
/// transform it, and ``BatchSampler`` / ``ImageConversion`` turn it into the
/// engine's float NCHW (or `[N, D]`) batches. Images stay uint8 in memory
/// (4x smaller than floats); they are converted one batch at a time.
///
/// A feature set (``isFeatures``) has `height = width = 1`, `channels = D`,
/// no `pixels`, and its values in ``features``.
public struct ImageSet: Sendable, Equatable {
  public var height: Int
  public var width: Int
  public var channels: Int
  /// `count * height * width * channels` values (empty for feature vectors).
  public var pixels: [UInt8]
  /// `count * channels` values for feature vectors (empty for images).
  public var features: [Float] = []
  /// Whether the samples are feature vectors `[D]` rather than images.
  public private(set) var isFeatures = false
  /// One label per image.
  public var labels: [Int32]

  /// Number of images.
  public var count: Int { labels.count }
  /// Values in one image (`height * width * channels`), or `D` for feature vectors.
  public var imageSize: Int { height * width * channels }
  /// One sample's shape as the engine wants it: `[C, H, W]`, or `[D]` for feature vectors.
  public var sampleShape: Shape { isFeatures ? Shape([channels]) : Shape([channels, height, width]) }
  /// The bytes the samples and labels take in memory.
  public var memoryBytes: Int { pixels.count + features.count * 4 + labels.count * 4 }

  /// Creates a set of feature vectors; `features` holds `labels.count * dimension` values.
  public init(features: [Float], dimension: Int, labels: [Int32]) {
    precondition(dimension > 0, "A feature vector needs a positive dimension, got \(dimension).")
    precondition(
      features.count == labels.count * dimension,
      "\(labels.count) feature vectors of dimension \(dimension) need \(labels.count * dimension) values, got \(features.count)."
    )
    self.height = 1
    self.width = 1
    self.channels = dimension
    self.pixels = []
    self.features = features
    self.isFeatures = true
    self.labels = labels
  }

  /// Creates a set; the sizes must agree.
  public init(height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int32]) {
    precondition(
      height > 0 && width > 0 && channels > 0,
      "An image set needs a positive height, width and channel count, got \(height)x\(width)x\(channels).")
    precondition(
      pixels.count == labels.count * height * width * channels,
      "An image set of \(labels.count) images of \(height)x\(width)x\(channels) needs "
        + "\(labels.count * height * width * channels) pixel values, got \(pixels.count).")
    self.height = height
    self.width = width
    self.channels = channels
    self.pixels = pixels
    self.labels = labels
  }

  /// The images at `indices`, in that order (indices may repeat).
  public func subset(_ indices: [Int]) -> ImageSet {
    let size = imageSize
    if isFeatures {
      var values = [Float](repeating: 0, count: indices.count * size)
      for (k, i) in indices.enumerated() {
        precondition(i >= 0 && i < count, "Sample index \(i) is outside 0..<\(count).")
        for j in 0..<size { values[k * size + j] = features[i * size + j] }
      }
      return ImageSet(features: values, dimension: size, labels: indices.map { labels[$0] })
    }
    var px = [UInt8](repeating: 0, count: indices.count * size)
    var lb = [Int32](repeating: 0, count: indices.count)
    px.withUnsafeMutableBufferPointer { dst in
      pixels.withUnsafeBufferPointer { src in
        for (k, i) in indices.enumerated() {
          precondition(i >= 0 && i < count, "Image index \(i) is outside 0..<\(count).")
          lb[k] = labels[i]
          for j in 0..<size { dst[k * size + j] = src[i * size + j] }
        }
      }
    }
    return ImageSet(height: height, width: width, channels: channels, pixels: px, labels: lb)
  }

  /// The number of images of each class `0..<classCount`.
  ///
  /// Every label must be in range; this is a precondition.
  public func classCounts(classCount: Int) -> [Int] {
    var counts = [Int](repeating: 0, count: classCount)
    for l in labels {
      precondition(l >= 0 && Int(l) < classCount, "Label \(l) is outside 0..<\(classCount).")
      counts[Int(l)] += 1
    }
    return counts
  }

  /// The indices of the images of each class `0..<classCount`, in order; labels out of range are skipped.
  public func indicesByClass(classCount: Int) -> [[Int]] {
    var out = [[Int]](repeating: [], count: classCount)
    for (i, l) in labels.enumerated() where l >= 0 && Int(l) < classCount { out[Int(l)].append(i) }
    return out
  }

  /// Image `i`'s pixels (HWC).
  public func image(_ i: Int) -> ArraySlice<UInt8> {
    precondition(!isFeatures, "A feature-vector set has no images.")
    precondition(i >= 0 && i < count, "Image index \(i) is outside 0..<\(count).")
    return pixels[i * imageSize..<(i + 1) * imageSize]
  }
}
