import Foundation
import GradMixData
import GradMixEngine
import GradMixRecords
import GradMixTestSupport
import Testing

/// Training on data other than the built-in 28x28x3 digits, through the command line.
@Suite("Own data", .serialized)
struct OwnDataTests {
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  static func run(_ yaml: String, in dir: String) throws -> ProcessResult {
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    return try runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", Self.root, "--out", dir + "/run",
      "--method", "gated-pcgrad",
    ])
  }

  static let digits = """
    classes: 10
    steps: 3
    batch_size: 8
    sources: [{domain: mnist, split: train}]
    target: {domain: mnist-m, split: test, labelled_per_class: 2, unlabelled: 20, test: 40}
    optimizer: {lr: 0.05}
    """

  @Test(
    "model.input [1, 28, 28] and [3, 14, 14] train on the digit domains (they used to crash)",
    arguments: [([1, 28, 28], "conv6k5s2-relu-pool2-fc10"), ([3, 14, 14], "conv6k3-relu-pool2-fc10")])
  func otherShapes(input: [Int], spec: String) throws {
    let dir = try makeTemporaryDirectory("gradmix-own")
    let r = try Self.run("model: {spec: \(spec), input: \(input)}\n" + Self.digits, in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("uint8 images \(input)"), "\(r.stdout)")
    #expect(try RobustRunTests.run(dir + "/run").sampleShape == input)
  }

  @Test(
    "a feature-vector .npz and a mismatching model.input: exit 2, one error line naming both shapes, no run written")
  func mismatch() throws {
    let dir = try makeTemporaryDirectory("gradmix-own")
    var x = [UInt8](), y = [UInt8]()
    for i in 0..<40 {
      for d in 0..<5 { x += withUnsafeBytes(of: Float(i % 4 == d ? 1 : 0).bitPattern.littleEndian, Array.init) }
      y += withUnsafeBytes(of: Int64(i % 4).littleEndian, Array.init)
    }
    func npy(_ descr: String, _ shape: String, _ data: [UInt8]) -> [UInt8] {
      var h = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
      while (h.utf8.count + 11) % 64 != 0 { h += " " }
      h += "\n"
      return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8) + data
    }
    // A stored zip written by hand: two members, no compression.
    let members = [("x_train.npy", npy("<f4", "(40, 5)", x)), ("y_train.npy", npy("<i8", "(40,)", y))]
    var zip = [UInt8](), central = [UInt8]()
    func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    for (name, data) in members {
      let crc = Int(Self.crc32(data))
      let offset = zip.count
      zip += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.count, 4)
      zip += le(data.count, 4) + le(name.utf8.count, 2) + le(0, 2) + Array(name.utf8) + data
      central += le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4)
      central += le(data.count, 4) + le(data.count, 4) + le(name.utf8.count, 2) + le(0, 8) + le(0, 4)
      central += le(offset, 4) + Array(name.utf8)
    }
    let cd = zip.count
    zip += central + le(0x0605_4b50, 4) + le(0, 4) + le(2, 2) + le(2, 2) + le(central.count, 4) + le(cd, 4) + le(0, 2)
    try Data(zip).write(to: URL(fileURLWithPath: dir + "/f.npz"))
    let body = """
      classes: 4
      steps: 20
      batch_size: 8
      domains: {f: {base: {format: npz, path: f.npz}}}
      sources: [{domain: f, split: train}]
      target: {domain: f, split: test, labelled_per_class: 1, unlabelled: 0, test: 4}
      optimizer: {lr: 0.1}
      """
    let bad = try Self.run("model: {spec: fc8-relu-fc4, input: [6]}\n" + body, in: dir)
    #expect(bad.status == 2)
    let lines = bad.stderr.split(separator: "\n")
    #expect(
      lines.count == 1 && lines[0].hasPrefix("error: ")
        && lines[0].hasSuffix("f.npz[x_train.npy]: the data's samples are feature vectors [5] but model.input is [6]"),
      "\(bad.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/run.json"))
    let good = try Self.run("model: {spec: fc8-relu-fc4, input: [5]}\n" + body, in: dir)
    #expect(good.status == 0, "\(good.stderr)")
    #expect(good.stdout.contains("float32 feature vectors [5]"), "\(good.stdout)")
  }

  /// CRC-32 (IEEE), bit by bit: small and independent of zlib.
  static func crc32(_ data: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in data {
      c ^= UInt32(b)
      for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
  }
}
