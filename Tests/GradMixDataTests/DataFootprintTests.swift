import Foundation
import Testing

@testable import GradMixData

#if canImport(Glibc)
  import Glibc
#endif

/// ``DataFootprint``: every format sized from headers only, before any body is read (issue #28, row 6).
@Suite("data footprint")
struct DataFootprintTests {
  @Test("an IDX file is sized from its header alone; a header promising more than the file holds is refused")
  func idxHeaderOnly() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/big-images-idx3-ubyte"
    try DataFixtures.writeBytes([0, 0, 8, 3, 0, 0x0f, 0x42, 0x40, 0, 0, 0, 28, 0, 0, 0, 28], to: path)
    // 1,000,000 images promised over no body: the reader's truncation error, from the header and the size.
    #expect(throws: DataError.self) { _ = try IDX.imagesFootprint(path) }
    // The same header over a sparse body of 748 MiB, which is never read.
    #expect(truncate(path, off_t(16 + 1_000_000 * 784)) == 0)
    let f = try IDX.imagesFootprint(path)
    #expect(f.count == 1_000_000)
    #expect(f.heldBytes == 1_000_000 * (784 + 4))
    // The body and one 64 MiB read chunk, and the label bytes.
    #expect(f.peakBytes == f.heldBytes + Double(1 << 26) + 1_000_000)
  }

  @Test("the held bytes of every raw domain and split equal what the build really holds")
  func heldMatchesBuild() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let catalog = try DomainCatalog(dataRoot: root)
    for name in ["mnist", "fashion", "syndigits", "mnist-m"] {
      for split in Split.allCases {
        let f = try catalog.footprint(name, split: split)
        let set = try catalog.build(name, split: split, seed: 1)
        #expect(f.count == set.count, "\(name) \(split)")
        #expect(f.heldBytes == Double(set.pixels.count + 4 * set.count), "\(name) \(split)")
        #expect(f.peakBytes >= f.heldBytes)
      }
    }
    // uci: a CSV is bounded by its size (rows are not counted), never below what it holds.
    for split in Split.allCases {
      let f = try catalog.footprint("uci", split: split)
      let set = try catalog.build("uci", split: split, seed: 1)
      #expect(f.heldBytes >= Double(set.pixels.count + 4 * set.count), "uci \(split)")
    }
  }

  @Test("an .npz is sized from its central directory and npy headers: stored, deflated, features, both parts")
  func npz() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let stored = dir + "/a.npz", deflated = dir + "/b.npz"
    try DataFixtures.writeBytes(FormatFixtures.decode(FormatFixtures.numpySavez), to: stored)
    try DataFixtures.writeBytes(FormatFixtures.decode(FormatFixtures.numpySavezCompressed), to: deflated)
    // x_train uint8 (2, 3, 2, 3) NHWC: 36 pixels and 2 labels.
    let a = try #require(try NPZDataset.footprint(path: stored, part: "train", arrays: [:], layout: nil))
    #expect(a.count == 2 && a.heldBytes == 36 + 8, "\(a)")
    #expect(try NPZDataset.footprint(path: stored, part: "test", arrays: [:], layout: nil) == nil)
    // float32 features [2, 3] and [1, 3], deflated (zip64 fields).
    let b = try #require(try NPZDataset.footprint(path: deflated, part: "train", arrays: [:], layout: nil))
    #expect(b.count == 2 && b.heldBytes == 2 * 3 * 4 + 8, "\(b)")
    let t = try #require(try NPZDataset.footprint(path: deflated, part: "test", arrays: [:], layout: nil))
    #expect(t.count == 1 && t.heldBytes == 3 * 4 + 4, "\(t)")
    // What the reader really builds.
    let set = try #require(try NPZDataset.load(path: deflated, part: "train", arrays: [:], layout: nil, shape: [3]))
    #expect(b.heldBytes == Double(set.features.count * 4 + 4 * set.count))
    // A big member's header is read without its body: a stored 200 MB member in a sparse file.
    let big = dir + "/big.npz"
    let header = FormatFixtures.npy("|u1", [100_000, 1000, 2], [])
    let labels = FormatFixtures.npy("|u1", [100_000], [UInt8](repeating: 1, count: 100_000))
    let zip = FormatFixtures.zip(
      [(name: "y_train.npy", data: labels), (name: "x_train.npy", data: header)], deflate: false)
    try DataFixtures.writeBytes(zip, to: big)
    let c = try #require(try NPZDataset.footprint(path: big, part: "train", arrays: [:], layout: nil))
    #expect(c.count == 100_000 && c.heldBytes == 100_000 * (2000 + 4), "\(c)")
  }

  @Test("an image folder is sized from its listing: files times the output shape, and the cache's copy")
  func imageFolder() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let png = FormatFixtures.png(width: 4, height: 4, colorType: 0, pixels: [UInt8](repeating: 9, count: 16))
    for c in ["a", "b"] {
      try FileManager.default.createDirectory(atPath: dir + "/f/train/" + c, withIntermediateDirectories: true)
      for i in 0..<3 { try DataFixtures.writeBytes(png, to: dir + "/f/train/\(c)/\(i).png") }
    }
    var disk = DiskDataset(format: .imagefolder, path: dir + "/f")
    disk.cacheDirectory = "off"
    let f = try disk.footprint(split: .train, shape: [3, 8, 8])
    let set = try disk.load(split: .train, shape: [3, 8, 8])
    #expect(f.count == set.count)
    #expect(f.heldBytes == Double(set.pixels.count + 4 * set.count))
    // No test folder: the fixed 80/20 partition of train (3 images a class are all train).
    #expect(f.count == 6)
    // The cache's copy of the set (its buffer when written, its bytes when read) counts when the cache is on.
    disk.cacheDirectory = dir + "/cache"
    let cached = try disk.footprint(split: .train, shape: [3, 8, 8])
    #expect(cached.peakBytes - f.peakBytes == f.heldBytes + 48, "\(cached) \(f)")
  }
}
