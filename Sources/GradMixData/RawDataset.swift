import Foundation

/// The raw datasets under the data root that every domain starts from.
///
/// Folder layout (see `data/README.md`):
/// - `mnist/`: `{train,t10k}-{images-idx3,labels-idx1}-ubyte`; if `mnist/SOURCE`
///   says `subset`, `mnist_5k.csv.gz` instead (5,000 training images, no test
///   set), partitioned 80/20 like `uci` with a warning on stderr;
/// - `uci/digits.csv.gz`: 1,797 8x8 images, values 0-16, upsampled here to
///   28x28 (bilinear); one file, partitioned 80/20 (see ``Split``);
/// - `syndigits/`: `{train,test}-{images-idx4,labels-idx1}-ubyte`, 28x28x3;
/// - `fashion/`: `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`.
/// Any file may be stored raw or gzip-compressed, with or without `.gz`.
public enum RawDataset: String, CaseIterable, Sendable {
  case mnist, uci, syndigits, fashion

  /// All raw dataset names.
  public static var names: [String] { allCases.map(\.rawValue) }

  /// Every raw dataset has the ten classes 0-9.
  public static let classCount = 10

  nonisolated(unsafe) static var warnedSubset = false

  /// Loads one split at its stored size and channel count (uci already upsampled to 28x28).
  ///
  /// - Throws: the file errors of ``IDX`` and ``DigitsCSV``, and
  ///   ``DataError/dimensionMismatch(path:detail:)`` if images and labels disagree in count.
  public func load(split: Split, root: String) throws -> ImageSet {
    let dir = root + "/" + rawValue
    switch self {
    case .mnist:
      if RawDataset.mnistIsSubset(dir) {
        let path = dir + "/mnist_5k.csv.gz"
        if !RawDataset.warnedSubset {
          RawDataset.warnedSubset = true
          FileHandle.standardError.write(
            Data(
              ("warning: \(dir)/SOURCE says subset: mnist is the 5,000-image "
                + "fallback (\(path)), split 80/20 into train and test, not full MNIST\n").utf8))
        }
        return RawDataset.fixedPartition(try DigitsCSV.read(path, side: 28, maxValue: 255), split: split)
      }
      return try RawDataset.pair(dir: dir, prefix: split == .train ? "train" : "t10k", rank: 3)
    case .fashion:
      return try RawDataset.pair(dir: dir, prefix: split == .train ? "train" : "t10k", rank: 3)
    case .syndigits:
      return try RawDataset.pair(dir: dir, prefix: split.rawValue, rank: 4)
    case .uci:
      let all = try DigitsCSV.read(dir + "/digits.csv.gz", side: 8, maxValue: 16)
      return RawDataset.upsample(RawDataset.fixedPartition(all, split: split), to: 28)
    }
  }

  /// Reads `<prefix>-images-idx<rank>-ubyte` and `<prefix>-labels-idx1-ubyte` (each optionally `.gz`).
  static func pair(dir: String, prefix: String, rank: Int) throws -> ImageSet {
    let imagesPath = locate(dir + "/\(prefix)-images-idx\(rank)-ubyte")
    let labelsPath = locate(dir + "/\(prefix)-labels-idx1-ubyte")
    return try read(imagesPath: imagesPath, labelsPath: labelsPath, classCount: classCount)
  }

  /// Reads an IDX images file and its labels file and checks that their counts agree.
  public static func read(imagesPath: String, labelsPath: String, classCount: Int) throws -> ImageSet {
    let img = try IDX.readImages(imagesPath)
    let labels = try IDX.readLabels(labelsPath, classCount: classCount)
    guard labels.count == img.count else {
      throw DataError.dimensionMismatch(
        path: labelsPath,
        detail: "holds \(labels.count) labels but \(imagesPath) holds \(img.count) images")
    }
    return ImageSet(height: img.height, width: img.width, channels: img.channels, pixels: img.pixels, labels: labels)
  }

  /// `path` if it exists, else `path.gz` if that exists, else `path` (so the error names it).
  static func locate(_ path: String) -> String {
    let fm = FileManager.default
    if !fm.fileExists(atPath: path) && fm.fileExists(atPath: path + ".gz") { return path + ".gz" }
    return path
  }

  /// The fixed, seed-independent 80/20 partition: within each class, in file
  /// order, every fifth image (the 5th, 10th, ...) is test, the rest train.
  public static func fixedPartition(_ set: ImageSet, split: Split) -> ImageSet {
    var seen = [Int32: Int]()
    var keep = [Int]()
    for (i, l) in set.labels.enumerated() {
      let k = seen[l, default: 0]
      seen[l] = k + 1
      if (k % 5 == 4) == (split == .test) { keep.append(i) }
    }
    return set.subset(keep)
  }

  /// Every image bilinearly resized to `side`x`side`.
  static func upsample(_ set: ImageSet, to side: Int) -> ImageSet {
    var px = [UInt8]()
    px.reserveCapacity(set.count * side * side * set.channels)
    for i in 0..<set.count {
      let img = WorkImage(height: set.height, width: set.width, channels: set.channels, px: Array(set.image(i)))
      px += img.resized(height: side, width: side).px
    }
    return ImageSet(height: side, width: side, channels: set.channels, pixels: px, labels: set.labels)
  }
}

extension RawDataset {
  /// Whether `mnist/SOURCE` says `subset` (the 5,000-image CSV stands in for the IDX files).
  static func mnistIsSubset(_ dir: String) -> Bool {
    let source = (try? FileBytes.readRaw(dir + "/SOURCE")).map { String(decoding: $0, as: UTF8.self) } ?? "full"
    return source.trimmingCharacters(in: .whitespacesAndNewlines) == "subset"
  }
}
