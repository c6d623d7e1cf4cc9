import GradMixEngine
import Testing

/// The 2x2, stride-2 max pooling (forward four outputs per SIMD step, then
/// a scalar tail; backward through the recorded argmax) against a scalar
/// reference written from the definition: first maximum wins on
/// ties, dY goes to that one position, every other dX is 0.
struct MaxPoolTests {
  /// y and dx of the reference for one [C, H, W] batch.
  func reference(_ x: [Float], _ dy: [Float], planes: Int, h: Int, w: Int) -> ([Float], [Float]) {
    let oh = h / 2, ow = w / 2
    var y = [Float](repeating: 0, count: planes * oh * ow), dx = [Float](repeating: 0, count: planes * h * w)
    for p in 0..<planes {
      for i in 0..<oh {
        for j in 0..<ow {
          var best = -Float.infinity, at = p * h * w + 2 * i * w + 2 * j
          for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let k = p * h * w + (2 * i + di) * w + 2 * j + dj
            if x[k] > best { best = x[k]; at = k }
          }
          let o = (p * oh + i) * ow + j
          y[o] = best
          dx[at] += dy[o]
        }
      }
    }
    return (y, dx)
  }

  // 8x16: SIMD steps only; 9x10: a SIMD step + a tail, odd height (the last row in no window); 6x12: 4 + 2.
  @Test("2x2 max pooling equals the scalar definition, ties included", arguments: [(8, 16), (9, 10), (6, 12)])
  func matchesDefinition(_ size: (Int, Int)) throws {
    let (h, w) = size, c = 3, n = 2, shape = Shape([c, h, w])
    let layer = try MaxPool2D(kernelSize: 2, input: shape)
    var rng = RNG(seed: 7)
    // Few distinct values, so windows often hold ties.
    let x = (0..<(n * c * h * w)).map { _ in Float(rng.int(below: 4)) - 1.5 }
    let outCount = n * c * (h / 2) * (w / 2)
    let dy = (0..<outCount).map { _ in rng.normal() }
    let scratch = FlatBuffer(count: layer.scratchCount(input: shape, batch: n))
    let none = FlatBuffer(count: 1)
    var y = [Float](repeating: .nan, count: outCount), dx = [Float](repeating: .nan, count: x.count)
    var r = RNG(seed: 1)
    x.withUnsafeBufferPointer { xp in
      dy.withUnsafeBufferPointer { dyp in
        y.withUnsafeMutableBufferPointer { yp in
          dx.withUnsafeMutableBufferPointer { dxp in
            layer.forward(
              output: yp.baseAddress!, input: xp.baseAddress!, parameters: none.pointer, state: none.pointer,
              scratch: scratch.pointer, inputShape: shape, batch: n, mode: .train, rng: &r)
            layer.backward(
              dInput: dxp.baseAddress!, dParameters: none.pointer, dOutput: dyp.baseAddress!,
              input: xp.baseAddress!, output: yp.baseAddress!, parameters: none.pointer,
              scratch: scratch.pointer, inputShape: shape, batch: n)
          }
        }
      }
    }
    let (yRef, dxRef) = reference(x, dy, planes: n * c, h: h, w: w)
    #expect(y == yRef)
    #expect(dx == dxRef)
  }
}
