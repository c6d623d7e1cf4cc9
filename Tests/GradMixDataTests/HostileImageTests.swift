import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

#if canImport(Glibc)
  import Glibc
#endif

/// Image files and caches that claim more than they hold (issue #28, row 7).
@Suite("hostile images", .serialized)
struct HostileImageTests {
  /// The peak resident memory of this process so far, in KiB.
  static func peakKiB() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss)
  }

  @Test("a PNG chunk claiming 0x7ffffff0 bytes in a tiny file is refused before anything is allocated for it")
  func chunkLength() throws {
    let png = FormatFixtures.png(width: 2, height: 2, colorType: 0, pixels: [0, 100, 200, 255])
    // After the signature (8) and IHDR (8 + 13 + 4): a tEXt chunk whose length field claims 0x7ffffff0 bytes.
    let text: [UInt8] = [0x7f, 0xff, 0xff, 0xf0] + Array("tEXt".utf8) + Array("Comment\0hello".utf8) + [0, 0, 0, 0]
    let bad = Array(png[0..<33]) + text + Array(png[33...])
    let before = Self.peakKiB()
    do {
      _ = try ImageDecoder.decode(bad, path: "x.png", maxBytes: 1 << 20)
      Issue.record("a chunk longer than the file must be refused")
    } catch let e as DataError {
      #expect(e.description.contains("x.png: bad PNG: chunk 'tEXt'") && e.description.contains("claims"), "\(e)")
    }
    #expect(Self.peakKiB() - before < 200_000, "peak memory grew by \(Self.peakKiB() - before) KiB")
    // The untouched file still decodes (the walk accepts every sound chunk).
    #expect(try ImageDecoder.decode(png, path: "x.png", maxBytes: 1 << 20).px == [0, 100, 200, 255])
  }

  @Test("a decoded-image cache file of the wrong size (grown to 4 GB) is rebuilt without being read")
  func grownCache() throws {
    let root = try ImageFolderTests.makeFolder()
    let cacheDir = try DataFixtures.tempDir()
    var d = DiskDataset(format: .imagefolder, path: root)
    d.cacheDirectory = cacheDir
    let first = try d.load(split: .train, shape: [3, 2, 2])
    let files = try FileManager.default.contentsOfDirectory(atPath: cacheDir)
    let cacheFile = cacheDir + "/" + files[0]
    #expect(truncate(cacheFile, 4 << 30) == 0)  // sparse: no disk used
    let before = Self.peakKiB()
    #expect(try d.load(split: .train, shape: [3, 2, 2]) == first)
    #expect(Self.peakKiB() - before < 1_000_000, "peak memory grew by \(Self.peakKiB() - before) KiB")
    // Rebuilt at its proper size.
    var st = stat()
    #expect(stat(cacheFile, &st) == 0 && st.st_size < 4096, "\(st.st_size)")
  }

  @Test("an image folder whose train/<class> holds no image is an error naming that folder")
  func emptyClass() throws {
    let root = try ImageFolderTests.makeFolder()
    try FileManager.default.createDirectory(atPath: root + "/train/c-empty", withIntermediateDirectories: true)
    try Data("notes".utf8).write(to: URL(fileURLWithPath: root + "/train/c-empty/readme.txt"))
    var d = DiskDataset(format: .imagefolder, path: root)
    d.cacheDirectory = try DataFixtures.tempDir()
    do {
      _ = try d.load(split: .train, shape: [3, 2, 2])
      Issue.record("a class without training images must be refused")
    } catch let e as DataError {
      #expect(e.description.hasPrefix(root + "/train/c-empty: "), "\(e)")
    }
  }
}
