import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("image folders")
struct ImageFolderTests {
  /// root/{train,test}/{b-circle,a-square}/: PNGs of every colour type and the two JPEGs.
  static func makeFolder() throws -> String {
    let root = try DataFixtures.tempDir()
    for split in ["train", "test"] {
      for c in ["a-square", "b-circle"] {
        try FileManager.default.createDirectory(atPath: "\(root)/\(split)/\(c)", withIntermediateDirectories: true)
      }
    }
    let t = root + "/train"
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 2, height: 2, colorType: 0, pixels: [0, 100, 200, 255]), to: "\(t)/a-square/1-grey.png")
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 2, height: 2, colorType: 2, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]),
      to: "\(t)/a-square/2-rgb.png")
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 2, height: 2, colorType: 3, pixels: [0, 1, 1, 0], palette: [9, 8, 7, 1, 2, 3]),
      to: "\(t)/b-circle/3-palette.png")
    try DataFixtures.writeBytes(
      FormatFixtures.png(
        width: 2, height: 2, colorType: 6,
        pixels: [200, 100, 50, 255, 200, 100, 50, 0, 0, 0, 0, 255, 255, 255, 255, 255]),
      to: "\(t)/b-circle/4-rgba.PNG")
    try DataFixtures.writeBytes(FormatFixtures.decode(FormatFixtures.jpegRGB), to: "\(t)/b-circle/5-rgb.jpg")
    try DataFixtures.writeBytes(FormatFixtures.decode(FormatFixtures.jpegGrey), to: "\(t)/a-square/6-grey.jpeg")
    try DataFixtures.writeBytes(Array("not an image".utf8), to: "\(t)/a-square/notes.txt")
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 1, height: 1, colorType: 0, pixels: [7]), to: "\(root)/test/b-circle/x.png")
    return root
  }

  @Test("classes are the sorted folder names; every PNG colour type and JPEG decodes at the wanted shape")
  func decodeAll() throws {
    let root = try Self.makeFolder()
    setenv("GRADMIX_CACHE", "off", 1)
    let d = DiskDataset(format: .imagefolder, path: root)
    #expect(try d.classNames() == ["a-square", "b-circle"])
    let rgb = try d.load(split: .train, shape: [3, 2, 2])
    #expect(rgb.count == 6 && rgb.labels == [0, 0, 0, 1, 1, 1])  // notes.txt skipped; files in name order per class
    #expect(Array(rgb.image(0)) == [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255])  // grey replicated
    #expect(Array(rgb.image(1)) == [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    #expect(Array(rgb.image(3)) == [9, 8, 7, 1, 2, 3, 1, 2, 3, 9, 8, 7])  // palette
    #expect(Array(rgb.image(4)) == [200, 100, 50, 0, 0, 0, 0, 0, 0, 255, 255, 255])  // alpha 0 composited onto black
    // The 8x8 grey JPEG of 200, area-averaged to 2x2; the 16x8 red|blue JPEG to 2x2: left red, right blue.
    #expect(rgb.image(2).allSatisfy { abs(Int($0) - 200) <= 2 })
    let jpeg = Array(rgb.image(5))
    #expect(jpeg[0] > 150 && jpeg[2] < 90 && jpeg[3] < 90 && jpeg[5] > 150, "\(jpeg)")
    let grey = try d.load(split: .train, shape: [1, 1, 1])
    #expect(grey.channels == 1 && grey.count == 6)
    #expect(grey.pixels[0] == 139)  // mean of 0, 100, 200, 255 = 138.75
    let test = try d.load(split: .test, shape: [3, 4, 4])
    #expect(test.count == 1 && test.labels == [1] && test.pixels.allSatisfy { $0 == 7 })  // enlarged bilinearly
  }

  @Test(
    "the provenance fingerprint of a folder's listing changes with a file's size and with a new file, not otherwise")
  func listingDigest() throws {
    let root = try Self.makeFolder()
    let d = DiskDataset(format: .imagefolder, path: root)
    let first = try #require(d.listingDigest())
    #expect(first.hasPrefix("listing-sha256:") && first.hasSuffix("(7 files)"))  // notes.txt is not an image
    #expect(d.listingDigest() == first)
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 1, height: 2, colorType: 0, pixels: [7, 8]),
      to: "\(root)/test/b-circle/x.png")
    let resized = try #require(d.listingDigest())
    #expect(resized != first && resized.hasSuffix("(7 files)"))
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 1, height: 1, colorType: 0, pixels: [9]),
      to: "\(root)/test/a-square/y.png")
    #expect(d.listingDigest()?.hasSuffix("(8 files)") == true)
    #expect(DiskDataset(format: .npz, path: root).listingDigest() == nil)
  }

  @Test("the decoded cache is used when nothing changed and rebuilt when a file changes or the cache is damaged")
  func cache() throws {
    let root = try Self.makeFolder()
    let cacheDir = try DataFixtures.tempDir()
    // Not through $GRADMIX_CACHE: other tests in this process set it to `off` concurrently.
    var d = DiskDataset(format: .imagefolder, path: root)
    d.cacheDirectory = cacheDir
    let first = try d.load(split: .train, shape: [3, 2, 2])
    let files = try FileManager.default.contentsOfDirectory(atPath: cacheDir)
    #expect(files.count == 1)
    let cacheFile = cacheDir + "/" + files[0]
    // A cache hit: overwrite the cached pixels with a marker and see it come back.
    var bytes = try FileBytes.readRaw(cacheFile)
    bytes[bytes.count - 1] = 77
    try DataFixtures.writeBytes(bytes, to: cacheFile)
    #expect(try d.load(split: .train, shape: [3, 2, 2]).pixels.last == 77)
    // Another shape is another key.
    #expect(try d.load(split: .train, shape: [1, 2, 2]).channels == 1)
    // Changing a file (size and mtime) rebuilds: the marker is gone, the new pixels are in.
    try DataFixtures.writeBytes(
      FormatFixtures.png(width: 1, height: 1, colorType: 0, pixels: [50]), to: "\(root)/train/a-square/1-grey.png")
    let changed = try d.load(split: .train, shape: [3, 2, 2])
    #expect(Array(changed.image(0)) == [UInt8](repeating: 50, count: 12) && changed.pixels.last == first.pixels.last)
    // A damaged cache file is ignored.
    try DataFixtures.writeBytes(Array(try FileBytes.readRaw(cacheFile).prefix(60)), to: cacheFile)
    #expect(try d.load(split: .train, shape: [3, 2, 2]) == changed)
  }

  @Test("bad images, missing folders and too few classes are one error naming the path")
  func errors() throws {
    setenv("GRADMIX_CACHE", "off", 1)
    let root = try Self.makeFolder()
    let bad = "\(root)/train/b-circle/9-bad.png"
    var png = FormatFixtures.png(width: 2, height: 2, colorType: 0, pixels: [1, 2, 3, 4])
    png[png.count - 20] ^= 0xff  // inside IDAT: a CRC or zlib error
    try DataFixtures.writeBytes(png, to: bad)
    let d = DiskDataset(format: .imagefolder, path: root)
    do {
      _ = try d.load(split: .train, shape: [3, 2, 2])
      Issue.record("a damaged PNG must be rejected")
    } catch let e as DataError {
      #expect(e.description.hasPrefix(bad + ": bad PNG: "), "\(e)")
    }
    try DataFixtures.writeBytes(
      Array(FormatFixtures.decode(FormatFixtures.jpegRGB).prefix(400)),
      to: bad.replacingOccurrences(of: ".png", with: ".jpg"))
    try FileManager.default.removeItem(atPath: bad)
    #expect(throws: DataError.self) { _ = try d.load(split: .train, shape: [3, 2, 2]) }
    #expect(throws: DataError.shapeMismatch(what: root, data: "images (an image folder)", model: [64])) {
      _ = try d.load(split: .train, shape: [64])
    }
    #expect(throws: DataError.fileNotFound(path: root + "/nope/train")) {
      _ = try DiskDataset(format: .imagefolder, path: root + "/nope").load(split: .train, shape: [3, 2, 2])
    }
    let one = try DataFixtures.tempDir()
    try FileManager.default.createDirectory(atPath: one + "/train/only", withIntermediateDirectories: true)
    #expect(throws: DataError.self) {
      _ = try DiskDataset(format: .imagefolder, path: one).load(split: .train, shape: [3, 2, 2])
    }
  }

  @Test("the area filter averages exactly when shrinking by a whole factor")
  func areaFilter() {
    let img = WorkImage(height: 2, width: 4, channels: 1, px: [0, 10, 20, 30, 40, 50, 60, 70])
    #expect(img.fitted(height: 1, width: 2).px == [25, 45])  // (0+10+40+50)/4, (20+30+60+70)/4
    #expect(img.fitted(height: 1, width: 1).px == [35])
    #expect(img.converted(channels: 3).converted(channels: 1) == img)
  }
}
