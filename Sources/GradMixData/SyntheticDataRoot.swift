import Foundation
import GradMixEngine

/// Writes a small data root laid out like `data/raw` (see data/README.md)
/// whose images are learnable: class c is a bright bar at a class-specific
/// position and angle plus noise, so a few hundred steps of a small CNN
/// learn it. MNIST-like sets (mnist, fashion) are grey 28x28, syndigits colour
/// 28x28, uci 8x8 (values 0-16) in one CSV, plus two tiny photos for
/// `blend-photo`, so every shipped config that reads `data/raw` can start. Used by the trainer and MPI tests and by
/// `gradmix data synthesize` (CI and a cluster smoke test need no fetched data).
public enum SyntheticDataRoot {
  /// Creates the data root in `directory` (default: a new temporary folder) and returns its path.
  public static func make(
    perClassTrain: Int = 40, perClassTest: Int = 40, seed: UInt64 = 7,
    directory: String? = nil
  ) throws -> String {
    let root =
      directory
      ?? FileManager.default.temporaryDirectory.appendingPathComponent("gradmix-synth-\(UUID().uuidString)").path
    for d in ["mnist", "syndigits", "photos", "uci", "fashion"] {
      try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
    }
    try Data("full\n".utf8).write(to: URL(fileURLWithPath: root + "/mnist/SOURCE"))
    var rng = RNG(seed: seed)
    for (split, n) in [("train", perClassTrain), ("t10k", perClassTest)] {
      let (px, labels) = images(perClass: n, channels: 1, rng: &rng)
      try writeIDX(root + "/mnist/\(split)-images-idx3-ubyte", dims: [labels.count, 28, 28], bytes: px)
      try writeIDX(root + "/mnist/\(split)-labels-idx1-ubyte", dims: [labels.count], bytes: labels)
    }
    for (split, n) in [("train", perClassTrain), ("test", perClassTest)] {
      let (px, labels) = images(perClass: n, channels: 3, rng: &rng)
      try writeIDX(root + "/syndigits/\(split)-images-idx4-ubyte", dims: [labels.count, 28, 28, 3], bytes: px)
      try writeIDX(root + "/syndigits/\(split)-labels-idx1-ubyte", dims: [labels.count], bytes: labels)
    }
    var manifest = "name\tfile\twidth\theight\tlicence\tsha256\n"
    for (name, h, w) in [("p1", 40, 48), ("p2", 36, 36)] {
      let px = (0..<(h * w * 3)).map { i in UInt8((i * 7 + Int(rng.int(below: 40))) % 256) }
      try writeIDX(root + "/photos/\(name).idx3-ubyte", dims: [h, w, 3], bytes: px)
      manifest += "\(name)\t\(name).idx3-ubyte\t\(w)\t\(h)\tCC0\t-\n"
    }
    try Data(manifest.utf8).write(to: URL(fileURLWithPath: root + "/photos/MANIFEST.tsv"))
    // fashion: grey 28x28 like mnist; uci: one CSV of 8x8 images (values 0-16, the bars averaged down),
    // stored uncompressed under its usual .gz name (the readers detect gzip by content).
    for (split, n) in [("train", perClassTrain), ("t10k", perClassTest)] {
      let (px, labels) = images(perClass: n, channels: 1, rng: &rng)
      try writeIDX(root + "/fashion/\(split)-images-idx3-ubyte", dims: [labels.count, 28, 28], bytes: px)
      try writeIDX(root + "/fashion/\(split)-labels-idx1-ubyte", dims: [labels.count], bytes: labels)
    }
    let (px, labels) = images(perClass: perClassTrain + perClassTest, channels: 1, rng: &rng)
    var csv = ""
    for (i, label) in labels.enumerated() {
      var row: [String] = []
      for y in 0..<8 {
        for x in 0..<8 {
          var sum = 0, count = 0
          for yy in (y * 28 / 8)..<((y + 1) * 28 / 8) {
            for xx in (x * 28 / 8)..<((x + 1) * 28 / 8) {
              sum += Int(px[i * 784 + yy * 28 + xx]); count += 1
            }
          }
          row.append(String(sum * 16 / (count * 255)))
        }
      }
      csv += row.joined(separator: ",") + ",\(label)\n"
    }
    try Data(csv.utf8).write(to: URL(fileURLWithPath: root + "/uci/digits.csv.gz"))
    return root
  }

  /// `perClass` images of each of 10 classes, interleaved by class.
  static func images(perClass: Int, channels: Int, rng: inout RNG) -> ([UInt8], [UInt8]) {
    var px: [UInt8] = []
    var labels: [UInt8] = []
    px.reserveCapacity(perClass * 10 * 784 * channels)
    for i in 0..<(perClass * 10) {
      let c = i % 10
      labels.append(UInt8(c))
      // A bar of length 14 through a class-specific centre and angle, jittered.
      let angle = Double(c) * Double.pi / 10 + Double(rng.normal()) * 0.05
      let cx = 14 + Double(rng.int(below: 3) - 1), cy = 14 + Double(rng.int(below: 3) - 1)
      var grey = [Float](repeating: 0, count: 784)
      for t in stride(from: -7.0, through: 7.0, by: 0.5) {
        let x = Int((cx + t * cos(angle)).rounded()), y = Int((cy + t * sin(angle)).rounded())
        for dy in -1...1 {
          for dx in -1...1 where (0..<28).contains(x + dx) && (0..<28).contains(y + dy) {
            grey[(y + dy) * 28 + x + dx] = 1
          }
        }
      }
      let offset = (c % 2 == 0) ? 3 : -3  // even classes sit higher
      for p in 0..<784 {
        let y = p / 28 + offset
        let v = (0..<28).contains(y) ? grey[y * 28 + p % 28] : 0
        let noisy = min(max(v * 220 + rng.normal() * 20 + 20, 0), 255)
        for ch in 0..<channels {
          let tint: Float = channels == 1 ? 1 : [1.0, 0.7, 0.4][ch]
          px.append(UInt8(noisy * tint))
        }
      }
    }
    return (px, labels)
  }

  /// Writes an uncompressed IDX file of unsigned bytes.
  public static func writeIDX(_ path: String, dims: [Int], bytes: [UInt8]) throws {
    var data = Data([0, 0, 0x08, UInt8(dims.count)])
    for d in dims { withUnsafeBytes(of: UInt32(d).bigEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: bytes)
    try data.write(to: URL(fileURLWithPath: path))
  }
}
