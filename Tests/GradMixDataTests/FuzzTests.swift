import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

/// Random byte flips and truncations of valid files: a reader must either
/// load valid data or throw, never crash, hang or read out of bounds (a
/// crash would end the test process; Swift traps on out-of-bounds access).
@Suite("Fuzzing the readers")
struct FuzzTests {
  /// Seeded corruptions of `original`: truncations, flips in the header, flips anywhere.
  static func mutations(of original: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
    var rng = RNG(seed: seed)
    return (0..<count).map { i in
      var b = original
      switch i % 3 {
      case 0: b = Array(b.prefix(rng.int(below: b.count)))
      case 1: for _ in 0...rng.int(below: 3) { b[rng.int(below: min(b.count, 24))] ^= UInt8(1 << rng.int(below: 8)) }
      default: for _ in 0...rng.int(below: 8) { b[rng.int(below: b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
      }
      return b
    }
  }

  @Test("IDX files (raw and gzip): 300 mutations load or throw a DataError")
  func idx() throws {
    let dir = try DataFixtures.tempDir()
    let set = DataFixtures.randomSet(count: 6, height: 5, width: 4)
    for gzip in [false, true] {
      let path = dir + "/x-\(gzip)"
      try IDX.write(path, dims: [6, 5, 4], bytes: set.pixels, gzip: gzip)
      let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
      var loaded = 0, rejected = 0
      for m in Self.mutations(of: original, count: 150, seed: gzip ? 2 : 1) {
        try Data(m).write(to: URL(fileURLWithPath: path))
        do {
          let r = try IDX.read(path)
          #expect(r.dims.reduce(1, *) == r.bytes.count)
          loaded += 1
        } catch is DataError {
          rejected += 1
        }
      }
      #expect(loaded + rejected == 150 && rejected > 50, "gzip \(gzip): \(loaded) loaded, \(rejected) rejected")
    }
  }

  @Test("npz archives (stored and deflated), PNGs and JPEGs: 600 mutations load or throw a DataError")
  func newReaders() throws {
    let dir = try DataFixtures.tempDir()
    setenv("GRADMIX_CACHE", "off", 1)
    let inputs: [(String, [UInt8])] = [
      ("npz", FormatFixtures.decode(FormatFixtures.numpySavez)),
      ("npz", FormatFixtures.decode(FormatFixtures.numpySavezCompressed)),
      (
        "png",
        FormatFixtures.png(width: 3, height: 2, colorType: 3, pixels: [0, 1, 0, 1, 1, 0], palette: [1, 2, 3, 4, 5, 6])
      ),
      ("jpg", FormatFixtures.decode(FormatFixtures.jpegRGB)),
    ]
    for (k, (kind, original)) in inputs.enumerated() {
      var rejected = 0
      for m in Self.mutations(of: original, count: 150, seed: UInt64(10 + k)) {
        do {
          if kind == "npz" {
            let path = dir + "/f.npz"
            try DataFixtures.writeBytes(m, to: path)
            let shape = k == 0 ? [3, 3, 2] : [3]
            if let set = try NPZDataset.load(path: path, part: "train", arrays: [:], layout: nil, shape: shape) {
              #expect(set.count > 0)
            }
          } else {
            let img = try ImageDecoder.decode(m, path: "f.\(kind)", maxBytes: 1 << 20)
            #expect(img.px.count == img.height * img.width * img.channels)
          }
        } catch is DataError {
          rejected += 1
        }
      }
      #expect(rejected > 30, "\(kind) #\(k): only \(rejected) of 150 mutations rejected")
    }
  }

  @Test("checkpoints: 300 mutations of the tensors file and the sidecar load or throw a CheckpointError")
  func checkpoint() throws {
    let dir = try DataFixtures.tempDir()
    let model = try Sequential(spec: "conv2k3-fc3", inputShape: Shape([1, 5, 5]))
    let path = dir + "/c.safetensors"
    try Checkpoint.save(
      to: path, model: model, parameters: model.makeParameters(seed: 1),
      metadata: CheckpointMetadata(model: model, step: 1))
    for file in [path, Checkpoint.sidecarPath(for: path)] {
      let original = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
      var rejected = 0
      for m in Self.mutations(of: original, count: 150, seed: 3) {
        try Data(m).write(to: URL(fileURLWithPath: file))
        do {
          let c = try Checkpoint.load(from: path, for: model)
          #expect(c.parameters.count == model.parameterCount)
        } catch is CheckpointError {
          rejected += 1
        }
      }
      try Data(original).write(to: URL(fileURLWithPath: file))
      #expect(rejected > 50, "\(file): only \(rejected) of 150 mutations rejected")
    }
  }
}
