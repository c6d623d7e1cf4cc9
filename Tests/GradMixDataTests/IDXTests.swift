import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("IDX and CSV readers")
struct IDXTests {
  @Test("IDX round-trips raw and gzip, and gzip is detected by content, not name", arguments: [false, true])
  func roundTrip(gzip: Bool) throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let set = DataFixtures.randomSet(count: 7, height: 5, width: 4, channels: 3)
    let path = dir + "/x-images-idx4-ubyte"  // no .gz suffix even when compressed
    try IDX.write(path, dims: [7, 5, 4, 3], bytes: set.pixels, gzip: gzip)
    let raw = try FileBytes.readRaw(path)
    #expect((raw[0] == 0x1f && raw[1] == 0x8b) == gzip)
    let (dims, bytes) = try IDX.read(path)
    #expect(dims == [7, 5, 4, 3])
    #expect(bytes == set.pixels)
    let img = try IDX.readImages(path)
    #expect(img.count == 7 && img.height == 5 && img.width == 4 && img.channels == 3)
    try IDX.write(dir + "/l", dims: [7], bytes: set.labels.map { UInt8($0) }, gzip: gzip)
    #expect(try IDX.readLabels(dir + "/l", classCount: 10) == set.labels)
    try IDX.write(dir + "/g", dims: [2, 3, 3], bytes: Array(0..<18), gzip: gzip)
    let grey = try IDX.readImages(dir + "/g")
    #expect(grey.channels == 1 && grey.count == 2 && grey.pixels == Array(0..<18))
  }

  @Test("a damaged IDX file is rejected with a message naming the file and the fault")
  func damagedFiles() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let good: [UInt8] = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]
    let p = dir + "/f"
    try DataFixtures.writeBytes(Array(good.dropLast(2)), to: p)
    expectDataError(.truncated(path: p, expected: 18, actual: 16), mentions: "\(p): the file is truncated") {
      try IDX.read(p)
    }
    try DataFixtures.writeBytes(Array(good.prefix(6)), to: p)
    expectDataError(.truncated(path: p, expected: 12, actual: 6), mentions: p) { try IDX.read(p) }
    try DataFixtures.writeBytes(good + [9, 9], to: p)
    expectDataError(.trailingBytes(path: p, count: 2), mentions: "2 unexpected bytes") { try IDX.read(p) }
    try DataFixtures.writeBytes([0, 0, 0x0d, 2] + good.dropFirst(4), to: p)  // float type
    expectDataError(.badMagic(path: p, found: 0x0000_0d02), mentions: "0x00000d02") { try IDX.read(p) }
    try DataFixtures.writeBytes(Array("P6\n2 3\n255\n".utf8), to: p)
    expectDataError(.badMagic(path: p, found: 0x5036_0a32), mentions: "not a uint8 IDX file") { try IDX.read(p) }
    try DataFixtures.writeBytes([0, 0, 8, 0], to: p)  // zero dimensions
    expectDataError(.badMagic(path: p, found: 0x0000_0800), mentions: p) { try IDX.read(p) }
    try DataFixtures.writeBytes([], to: p)
    expectDataError(.empty(path: p), mentions: "\(p): the file is empty") { try IDX.read(p) }
    // Wrong dimensions for the use: a 2-D array is not an image file, and huge dims do not allocate.
    try DataFixtures.writeBytes(good, to: p)
    expectDataError(
      .dimensionMismatch(path: p, detail: "an image file needs 3 dimensions [N, H, W] or 4 [N, H, W, C], found [2, 3]"),
      mentions: "wrong dimensions"
    ) { try IDX.readImages(p) }
    try DataFixtures.writeBytes([0, 0, 8, 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2], to: p)
    expectDataError(.truncated(path: p, expected: 16 + 65536 * 256 * 256, actual: 18), mentions: p) {
      try IDX.readImages(p)
    }
    // A gzip stream cut short.
    let gz = try FileBytes.gzip(good + Array(repeating: 0, count: 500), path: p)
    try DataFixtures.writeBytes(Array(gz.prefix(gz.count / 2)), to: p)
    expectDataError(.gzip(path: p, detail: "the compressed stream is truncated"), mentions: "bad gzip data") {
      try IDX.read(p)
    }
  }

  @Test("missing paths, directories and unreadable files are named")
  func fileErrors() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    expectDataError(.fileNotFound(path: dir + "/nope"), mentions: "nope: file not found") {
      try IDX.read(dir + "/nope")
    }
    expectDataError(.notAFile(path: dir), mentions: "is a directory") { try IDX.read(dir) }
    let p = dir + "/locked"
    try IDX.write(p, dims: [1], bytes: [1])
    chmod(p, 0)
    if getuid() != 0 {  // root reads anything
      expectDataError(.unreadable(path: p, reason: "Permission denied"), mentions: "cannot read") { try IDX.read(p) }
    }
  }

  @Test("labels outside the class range are rejected naming the index; images and labels must agree in count")
  func labels() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let p = dir + "/train-labels-idx1-ubyte"
    try IDX.write(p, dims: [5], bytes: [0, 4, 9, 10, 3])
    expectDataError(.labelOutOfRange(path: p, index: 3, label: 10, range: 0..<10), mentions: "label 10 at index 3") {
      try IDX.readLabels(p, classCount: 10)
    }
    #expect(try IDX.readLabels(p, classCount: 11) == [0, 4, 9, 10, 3])
    let img = dir + "/train-images-idx3-ubyte"
    try IDX.write(img, dims: [4, 2, 2], bytes: Array(repeating: 0, count: 16))
    expectDataError(
      .dimensionMismatch(path: p, detail: "holds 5 labels but \(img) holds 4 images"), mentions: "5 labels"
    ) {
      try RawDataset.read(imagesPath: img, labelsPath: p, classCount: 11)
    }
  }

  @Test("digits CSV: values scaled to 0...255, errors name the file and line")
  func csv() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let p = dir + "/d.csv"
    try DataFixtures.writeBytes(Array("0,16,8,4,3\r\n16,0,0,0.0,9\n\n".utf8), to: p)
    let set = try DigitsCSV.read(p, side: 2, maxValue: 16)
    #expect(set.count == 2 && set.channels == 1 && set.height == 2)
    #expect(set.pixels == [0, 255, 128, 64, 255, 0, 0, 0])
    #expect(set.labels == [3, 9])
    #expect(try DigitsCSV.sniff(p) == (2, 16))
    let gz = dir + "/d.csv.gz"
    try DataFixtures.writeBytes(try FileBytes.gzip(try FileBytes.readRaw(p), path: gz), to: gz)
    #expect(try DigitsCSV.read(gz, side: 2, maxValue: 16) == set)
    let cases: [(String, DataError)] = [
      (
        "0,1,2,3,4\n0,1,2,3\n",
        .badCSV(path: p, line: 2, detail: "expected 5 columns (2x2 pixels and a label), found 4")
      ),
      ("0,1,x,3,4\n", .badCSV(path: p, line: 1, detail: "field 3 is not a number (unexpected character 'x')")),
      ("0,1,,3,4\n", .badCSV(path: p, line: 1, detail: "field 3 is not a number")),
      ("0,1,2,3,4\n0,17,2,3,4\n", .badCSV(path: p, line: 2, detail: "pixel 2 is 17.0, outside 0...16")),
      ("0,1,2,3,10\n", .badCSV(path: p, line: 1, detail: "label 10.0 is not a digit 0-9")),
      ("0,1,2,3,2.5\n", .badCSV(path: p, line: 1, detail: "label 2.5 is not a digit 0-9")),
      ("\n\n", .empty(path: p)),
    ]
    for (text, error) in cases {
      try DataFixtures.writeBytes(Array(text.utf8), to: p)
      expectDataError(error, mentions: p) { try DigitsCSV.read(p, side: 2, maxValue: 16) }
    }
  }
}

/// Streamed reading (issue #12, item 7): the header is checked first and the body read only up to its promise.
@Suite("IDX streaming")
struct IDXStreamingTests {
  @Test("a gzip bomb behind a small header and a header promising more than the file can hold: no large allocation")
  func bombs() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let p = dir + "/x-images-idx3-ubyte.gz"
    let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]
    // 8 promised bytes, then 64 MiB + 1 of zeros: refused after reading at most the limit.
    try DataFixtures.writeBytes(
      try FileBytes.gzip(header + [UInt8](repeating: 0, count: (1 << 26) + 9), path: p), to: p)
    #expect(throws: DataError.self) { try IDX.read(p) }
    // 2 extra bytes: the exact count is reported.
    try DataFixtures.writeBytes(try FileBytes.gzip(header + [UInt8](repeating: 0, count: 10), path: p), to: p)
    #expect(throws: DataError.trailingBytes(path: p, count: 2)) { try IDX.read(p) }
    // 10^9 images promised by a 40-byte file: refused before reading.
    let big: [UInt8] = [0, 0, 8, 3, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]
    try DataFixtures.writeBytes(try FileBytes.gzip(big, path: p), to: p)
    #expect(throws: DataError.self) { try IDX.read(p) }
    // Two concatenated members read as one stream.
    let body: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
    try DataFixtures.writeBytes(try FileBytes.gzip(header, path: p) + FileBytes.gzip(body, path: p), to: p)
    #expect(try IDX.read(p).bytes == body)
  }
}
