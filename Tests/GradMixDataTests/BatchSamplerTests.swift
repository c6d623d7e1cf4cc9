import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("batching")
struct BatchSamplerTests {
  /// The next `batches` batches of a sampler, inputs and labels concatenated.
  func draw(_ s: BatchSampler, _ batches: Int) -> ([Float], [Int32]) {
    var x = [Float](repeating: 0, count: s.inputCount), y = [Int32](repeating: 0, count: s.batchSize)
    var xs = [Float](), ys = [Int32]()
    for _ in 0..<batches {
      s.next(input: &x, labels: &y)
      xs += x
      ys += y
    }
    return (xs, ys)
  }

  @Test("the same seed gives the same batches; each epoch visits every image once", arguments: [0, 2])
  func determinism(maxShift: Int) throws {
    let set = DataFixtures.randomSet(count: 10, height: 4, width: 3, channels: 2)
    let aug = Augmentation(maxShift: maxShift)
    let a = draw(BatchSampler(set, batchSize: 4, seed: 5, augment: aug), 5)
    let b = draw(BatchSampler(set, batchSize: 4, seed: 5, augment: aug), 5)
    let c = draw(BatchSampler(set, batchSize: 4, seed: 6, augment: aug), 5)
    #expect(a.0 == b.0 && a.1 == b.1)
    #expect(a.0 != c.0)
    #expect(a.0.allSatisfy { $0 >= -1 && $0 <= 1 })
    // Without augmentation, the first 10 samples are a permutation of the set (epoch 0), then the next 10 (epoch 1).
    if maxShift == 0 {
      let plain = BatchSampler(set, batchSize: 5, seed: 5)
      for _ in 0..<2 {
        let (x, _) = draw(plain, 2)
        var seen = Set<Int>()
        for k in 0..<10 {
          let sample = Array(x[(k * 24)..<((k + 1) * 24)])
          let match = (0..<10).first { i in
            var expected = [Float](repeating: 0, count: 24)
            ImageConversion.toFloatNCHW(set, indices: [i], into: &expected)
            return expected == sample
          }
          if let match { seen.insert(match) }
        }
        #expect(seen == Set(0..<10))
      }
    }
  }

  @Test("restoring a saved state continues with identical batches")
  func restore() throws {
    let set = DataFixtures.randomSet(count: 13, height: 5, width: 5, channels: 3)
    let s = BatchSampler(set, batchSize: 6, seed: 9, augment: Augmentation(maxShift: 1))
    _ = draw(s, 3)  // into epoch 1
    let saved = try JSONDecoder().decode(SamplerState.self, from: JSONEncoder().encode(s.state))
    let expected = draw(s, 7)
    let t = BatchSampler(set, batchSize: 6, seed: 1234, augment: Augmentation(maxShift: 1))
    try t.restore(saved)
    let resumed = draw(t, 7)
    #expect(resumed.0 == expected.0 && resumed.1 == expected.1)
    #expect(saved.epoch == 1 && saved.position == 5)
    let wrong = BatchSampler(set, batchSize: 5, seed: 9)
    #expect(throws: DataError.badState(detail: "saved with batch size 6, this sampler uses 5")) {
      try wrong.restore(saved)
    }
  }

  @Test("seeking to image n gives the batch a sampler of the same seed draws after n images, across epochs")
  func seek() throws {
    let set = DataFixtures.randomSet(count: 7, height: 3, width: 3, channels: 1)
    let stream = draw(BatchSampler(set, batchSize: 4, seed: 11), 6)  // 24 images: epochs 0–3
    let s = BatchSampler(set, batchSize: 4, seed: 11)
    for n in [4, 12, 20, 0, 8] {  // forward and back, into later epochs and epoch 0 again
      s.seek(toImage: n)
      let (x, y) = draw(s, 1)
      #expect(y == Array(stream.1[n..<(n + 4)]), "image \(n)")
      #expect(x == Array(stream.0[(n * 9)..<((n + 4) * 9)]))
    }
  }

  @Test("conversion maps 0 to -1, 255 to 1, HWC to CHW; shifts fill with -1")
  func conversion() throws {
    // One 2x2 RGB image: pixel (y, x) channel c = 10*y + 5*x + c... with extremes.
    let px: [UInt8] = [0, 255, 51, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    let set = ImageSet(height: 2, width: 2, channels: 3, pixels: px, labels: [4])
    var out = [Float](repeating: 9, count: 12)
    ImageConversion.toFloatNCHW(set, indices: [0], into: &out)
    let f = { (v: UInt8) in Float(v) / 255 * 2 - 1 }
    #expect(out == [f(0), f(1), f(4), f(7), f(255), f(2), f(5), f(8), f(51), f(3), f(6), f(9)])
    #expect(out[0] == -1 && out[4] == 1)
    ImageConversion.writeImage(set, index: 0, shiftX: 1, shiftY: 0, into: &out)
    #expect(out[0] == -1 && out[1] == f(0) && out[2] == -1 && out[3] == f(4))
  }
}
