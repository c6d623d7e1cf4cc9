import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

/// Small generated inputs for the data tests: temp folders, random image sets
/// and a fake data root with every raw dataset and two photos (a few KB).
enum DataFixtures {
  /// A fresh empty folder under the temporary directory.
  static func tempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gradmix-data-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Writes raw bytes to a file (no validation: for broken fixtures).
  static func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  /// Random pixels with labels `i % classCount`.
  static func randomSet(
    count: Int, height: Int = 28, width: Int = 28, channels: Int = 1, classCount: Int = 10,
    seed: UInt64 = 1
  ) -> ImageSet {
    var rng = RNG(seed: seed)
    let px = (0..<(count * height * width * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return ImageSet(
      height: height, width: width, channels: channels, pixels: px,
      labels: (0..<count).map { Int32($0 % classCount) })
  }

  /// Writes a set as an IDX images file and labels file.
  static func writePair(_ set: ImageSet, images: String, labels: String, rank4: Bool = false, gzip: Bool = false) throws
  {
    let dims = rank4 ? [set.count, set.height, set.width, set.channels] : [set.count, set.height, set.width]
    try IDX.write(images, dims: dims, bytes: set.pixels, gzip: gzip)
    try IDX.write(labels, dims: [set.count], bytes: set.labels.map { UInt8($0) }, gzip: gzip)
  }

  /// A data root laid out like `data/raw` with tiny datasets:
  /// mnist 30 train / 20 test, fashion (gzip) 20 / 10, syndigits 20 / 10 RGB,
  /// uci 50 rows of 8x8 (0-16), and two photos of 40x50 and 30x30.
  static func dataRoot() throws -> String {
    let root = try tempDir()
    for d in ["mnist", "fashion", "syndigits", "uci", "photos"] {
      try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
    }
    try writeBytes(Array("full\n".utf8), to: root + "/mnist/SOURCE")
    try writePair(
      randomSet(count: 30, seed: 2), images: root + "/mnist/train-images-idx3-ubyte",
      labels: root + "/mnist/train-labels-idx1-ubyte")
    try writePair(
      randomSet(count: 20, seed: 3), images: root + "/mnist/t10k-images-idx3-ubyte",
      labels: root + "/mnist/t10k-labels-idx1-ubyte")
    try writePair(
      randomSet(count: 20, seed: 4), images: root + "/fashion/train-images-idx3-ubyte.gz",
      labels: root + "/fashion/train-labels-idx1-ubyte.gz", gzip: true)
    try writePair(
      randomSet(count: 10, seed: 5), images: root + "/fashion/t10k-images-idx3-ubyte.gz",
      labels: root + "/fashion/t10k-labels-idx1-ubyte.gz", gzip: true)
    try writePair(
      randomSet(count: 20, channels: 3, seed: 6), images: root + "/syndigits/train-images-idx4-ubyte",
      labels: root + "/syndigits/train-labels-idx1-ubyte", rank4: true)
    try writePair(
      randomSet(count: 10, channels: 3, seed: 7), images: root + "/syndigits/test-images-idx4-ubyte",
      labels: root + "/syndigits/test-labels-idx1-ubyte", rank4: true)
    var rng = RNG(seed: 8)
    let csv = (0..<50).map { i in (0..<64).map { _ in String(rng.int(below: 17)) }.joined(separator: ",") + ",\(i % 10)"
    }
    try writeBytes(
      try FileBytes.gzip(Array((csv.joined(separator: "\n") + "\n").utf8), path: "digits"),
      to: root + "/uci/digits.csv.gz")
    let a = randomSet(count: 1, height: 40, width: 50, channels: 3, seed: 9)
    let b = randomSet(count: 1, height: 30, width: 30, channels: 3, seed: 10)
    try IDX.write(root + "/photos/a.idx3-ubyte", dims: [40, 50, 3], bytes: a.pixels)
    try IDX.write(root + "/photos/b.idx3-ubyte", dims: [30, 30, 3], bytes: b.pixels)
    let manifest =
      "name\tfile\twidth\theight\tlicence\tsha256\na\ta.idx3-ubyte\t50\t40\tCC0\t-\nb\tb.idx3-ubyte\t30\t30\tCC0\t-\n"
    try writeBytes(Array(manifest.utf8), to: root + "/photos/MANIFEST.tsv")
    return root
  }
}

/// Runs `body` and expects it to throw exactly `expected`, whose description names `mentions`.
func expectDataError<T>(
  _ expected: DataError, mentions: String, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> T
) {
  do {
    _ = try body()
    Issue.record("expected \(expected), but nothing was thrown", sourceLocation: sourceLocation)
  } catch let e as DataError {
    #expect(e == expected, sourceLocation: sourceLocation)
    #expect(
      e.description.contains(mentions), "'\(e.description)' should mention '\(mentions)'",
      sourceLocation: sourceLocation)
  } catch {
    Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
  }
}
