import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("NumPy .npz datasets")
struct NPZTests {
  static func write(_ bytes: [UInt8]) throws -> String {
    let path = try DataFixtures.tempDir() + "/d.npz"
    try DataFixtures.writeBytes(bytes, to: path)
    return path
  }

  @Test("files written by NumPy (stored with zip64 fields, and deflated) load exactly")
  func numpyFiles() throws {
    let stored = try Self.write(FormatFixtures.decode(FormatFixtures.numpySavez))
    // x_train is [2, 3, 2, 3] uint8 = 0..<36: NHWC by the rule (last axis 3).
    let images = try #require(
      try NPZDataset.load(path: stored, part: "train", arrays: [:], layout: nil, shape: [3, 3, 2]))
    #expect(
      images.sampleShape == Shape([3, 3, 2]) && images.pixels == (0..<36).map(UInt8.init) && images.labels == [0, 2])
    // Renamed arrays: feats [2, 2] float32 are feature vectors.
    let feats = try #require(
      try NPZDataset.load(
        path: stored, part: "train", arrays: ["x_train": "feats", "y_train": "labels"], layout: nil, shape: [2]))
    #expect(feats.isFeatures && feats.features == [0.5, -1.25, 3, 4] && feats.labels == [1, 0])
    // No x_test: the test part is absent (the caller partitions the train part).
    #expect(try NPZDataset.load(path: stored, part: "test", arrays: [:], layout: nil, shape: [3, 3, 2]) == nil)

    let deflated = try Self.write(FormatFixtures.decode(FormatFixtures.numpySavezCompressed))
    let train = try #require(try NPZDataset.load(path: deflated, part: "train", arrays: [:], layout: nil, shape: [3]))
    #expect(train.features == [0.5, -1.25, 2, 3, 4, 5] && train.labels == [1, 0])
    let test = try #require(try NPZDataset.load(path: deflated, part: "test", arrays: [:], layout: nil, shape: [3]))
    #expect(test.features == [1, 1, 1] && test.labels == [1])
  }

  @Test("NCHW is inferred or forced by layout; float images in [0, 1] are scaled to 0-255")
  func layouts() throws {
    // [1, 3, 2, 2] uint8: the last axis (2) is no channel count, the second (3) is: NCHW.
    let x = (0..<12).map(UInt8.init)
    let y = FormatFixtures.npy("<i8", [1], FormatFixtures.bytes([Int64(4)]))
    let path = try Self.write(
      FormatFixtures.zip(
        [("x_train.npy", FormatFixtures.npy("|u1", [1, 3, 2, 2], x)), ("y_train.npy", y)], deflate: true))
    let set = try #require(try NPZDataset.load(path: path, part: "train", arrays: [:], layout: nil, shape: [3, 2, 2]))
    #expect(set.channels == 3 && set.height == 2 && set.width == 2)
    #expect(set.pixels == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])  // HWC: pixel k's channels are k, k+4, k+8
    let forced = try #require(
      try NPZDataset.load(path: path, part: "train", arrays: [:], layout: "nhwc", shape: [3, 2, 2]))
    #expect(forced.channels == 2 && forced.height == 3 && forced.pixels == x)

    let f = FormatFixtures.npy("<f4", [1, 2, 2], FormatFixtures.bytes([0, 0.5, 1, 0.25]))
    let fp = try Self.write(FormatFixtures.zip([("x_train.npy", f), ("y_train.npy", y)], deflate: false))
    let grey = try #require(try NPZDataset.load(path: fp, part: "train", arrays: [:], layout: nil, shape: [1, 2, 2]))
    #expect(grey.pixels == [0, 128, 255, 64] && grey.labels == [4])
  }

  @Test("shape mismatches, bad labels and damaged archives are one error naming the file")
  func errors() throws {
    let stored = try Self.write(FormatFixtures.decode(FormatFixtures.numpySavez))
    let cases: [([String: String], [Int], String)] = [
      (
        ["x_train": "feats", "y_train": "labels"], [3],
        "[feats.npy]: the data's samples are feature vectors [2] but model.input is [3]"
      ),
      ([:], [64], "[x_train.npy]: the data's samples are images [3, 3, 2] but model.input is [64]"),
      (["x_train": "nope"], [3, 3, 2], ": has no array 'nope' (arrays: x_train, y_train, feats, labels)"),
      (["y_train": "labels", "x_train": "feats"], [2, 2, 2], "the data's samples are feature vectors [2]"),
      (["y_train": "feats"], [3, 3, 2], "[feats.npy]: wrong dimensions: labels must be integers of shape [2]"),
    ]
    for (arrays, shape, message) in cases {
      do {
        _ = try NPZDataset.load(path: stored, part: "train", arrays: arrays, layout: nil, shape: shape)
        Issue.record("expected an error for \(arrays) \(shape)")
      } catch let e as DataError {
        #expect(e.description.hasPrefix(stored) && e.description.contains(message), "\(e)")
      }
    }
    // A negative label, a header claiming 2^40 rows (refused before any allocation), Fortran order.
    let x = FormatFixtures.npy("<f4", [1, 1], FormatFixtures.bytes([Float(1)]))
    let bad: [([UInt8], String)] = [
      (FormatFixtures.npy("<i8", [1], FormatFixtures.bytes([Int64(-3)])), "label -3 at index 0 is outside 0..<16777216")
    ]
    for (y, message) in bad {
      let p = try Self.write(FormatFixtures.zip([("x_train.npy", x), ("y_train.npy", y)], deflate: false))
      #expect(throws: DataError.self) {
        _ = try NPZDataset.load(path: p, part: "train", arrays: [:], layout: nil, shape: [1])
      }
      do { _ = try NPZDataset.load(path: p, part: "train", arrays: [:], layout: nil, shape: [1]) } catch {
        #expect("\(error)".contains(message), "\(error)")
      }
    }
    let huge = FormatFixtures.npy("<f4", [1 << 40, 64], [])
    let hp = try Self.write(
      FormatFixtures.zip(
        [("x_train.npy", huge), ("y_train.npy", FormatFixtures.npy("<i8", [1 << 40], []))], deflate: false))
    do {
      _ = try NPZDataset.load(path: hp, part: "train", arrays: [:], layout: nil, shape: [64])
      Issue.record("a 2^40-row header must be refused")
    } catch let e as DataError {
      guard case .outOfMemory = e else { Issue.record("expected outOfMemory, got \(e)"); return }
    }
    var fortran = FormatFixtures.npy("<f4", [1, 1], FormatFixtures.bytes([Float(1)]))
    let at = try #require((0..<fortran.count - 5).first { Array(fortran[$0..<($0 + 5)]) == Array("False".utf8) })
    fortran.replaceSubrange(at..<(at + 5), with: Array("True ".utf8))
    let fp = try Self.write(
      FormatFixtures.zip(
        [("x_train.npy", fortran), ("y_train.npy", FormatFixtures.npy("<i8", [1], FormatFixtures.bytes([Int64(0)])))],
        deflate: false))
    #expect(
      throws: DataError.badFormat(
        path: "\(fp)[x_train.npy]",
        detail: "not a readable .npy array: Fortran-ordered array; save it with np.ascontiguousarray(x)")
    ) {
      _ = try NPZDataset.load(path: fp, part: "train", arrays: [:], layout: nil, shape: [1])
    }
    // A truncated archive and a flipped data byte (CRC) are caught.
    let whole = FormatFixtures.decode(FormatFixtures.numpySavezCompressed)
    let cut = try Self.write(Array(whole.prefix(whole.count - 30)))
    #expect(throws: DataError.self) {
      _ = try NPZDataset.load(path: cut, part: "train", arrays: [:], layout: nil, shape: [3])
    }
    var flipped = FormatFixtures.decode(FormatFixtures.numpySavez)
    flipped[160] ^= 0x10  // inside x_train's values
    let fl = try Self.write(flipped)
    #expect(throws: DataError.badFormat(path: "\(fl)[x_train.npy]", detail: "CRC-32 mismatch (the member is corrupt)"))
    {
      _ = try NPZDataset.load(path: fl, part: "train", arrays: [:], layout: nil, shape: [3, 3, 2])
    }
  }
}
