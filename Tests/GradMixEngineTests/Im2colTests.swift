import Testing

@testable import GradMixEngine

/// The unfolding of a stride-1, unpadded convolution (``im2colValid``, the digit CNN's) and its
/// adjoint against their definitions, bit for bit (copies, and sums in the loop's order): the
/// checks any faster unfolding has to pass (an AVX-512 C version was tried and rejected,
/// docs/EXPERIMENTS.md, 2026-12-05).
@Suite("im2col of valid convolutions")
struct Im2colTests {
  struct Case: CustomTestStringConvertible, Sendable {
    let c: Int, h: Int, w: Int, k: Int
    var testDescription: String { "c\(c) \(h)x\(w) k\(k)" }
    var geometry: ConvGeometry? {
      ConvGeometry(channels: c, height: h, width: w, kernelH: k, kernelW: k, stride: 1, padding: 0)
    }

    /// Calls `body(row, pixel, column)` for every column-matrix element of one image in the
    /// definition's (c, kh, kw, oh, ow) order: row (c, kh, kw), input pixel c·HW + (oh + kh)·W +
    /// ow + kw, column oh·OW + ow.
    func forEachElement(_ g: ConvGeometry, _ body: (Int, Int, Int) -> Void) {
      for ch in 0..<c {
        for kh in 0..<k {
          for kw in 0..<k {
            for oh in 0..<g.outH {
              for ow in 0..<g.outW {
                body((ch * k + kh) * k + kw, (ch * h + oh + kh) * w + ow + kw, oh * g.outW + ow)
              }
            }
          }
        }
      }
    }
  }

  // Output widths 24 and 8 (the digit CNN's), 17 (one vector and a 1-float tail), 16, 3.
  static let cases = [
    Case(c: 3, h: 28, w: 28, k: 5), Case(c: 4, h: 12, w: 12, k: 5), Case(c: 2, h: 9, w: 19, k: 3),
    Case(c: 2, h: 6, w: 18, k: 3), Case(c: 1, h: 5, w: 7, k: 5),
  ]

  @Test("im2col writes x[c, oh + kh, ow + kw] at row (c, kh, kw), column n*OHW + oh*OW + ow", arguments: cases)
  func unfold(_ t: Case) throws {
    let g = try #require(t.geometry)
    let images = 2, ohw = g.outPlane, ld = images * ohw + 5  // a leading dimension wider than the rows
    var rng = RNG(seed: UInt64(t.h * 31 + t.w))
    let x = (0..<(images * t.c * t.h * t.w)).map { _ in rng.normal() }
    var cols = [Float](repeating: .nan, count: g.patch * ld)
    cols.withUnsafeMutableBufferPointer { cb in
      x.withUnsafeBufferPointer { xb in
        for n in 0..<images {
          im2col(cb.baseAddress!, ldCols: ld, xb.baseAddress!, image: n, geometry: g)
        }
      }
    }
    var wrong = 0
    for n in 0..<images {
      t.forEachElement(g) { row, pixel, column in
        let want = x[n * t.c * t.h * t.w + pixel]
        if cols[row * ld + n * ohw + column].bitPattern != want.bitPattern { wrong += 1 }
      }
    }
    #expect(wrong == 0)
    // The 5 floats past each row's two images are not written.
    #expect((0..<g.patch).allSatisfy { r in (0..<5).allSatisfy { cols[r * ld + images * ohw + $0].isNaN } })
  }

  @Test("col2im adds every column element back to its pixel, in the (c, kh, kw, oh) order", arguments: cases)
  func fold(_ t: Case) throws {
    let g = try #require(t.geometry)
    let ohw = g.outPlane, ld = ohw + 3
    var rng = RNG(seed: UInt64(t.h * 17 + t.w))
    let cols = (0..<(g.patch * ld)).map { _ in rng.normal() }
    let start = (0..<(t.c * t.h * t.w)).map { _ in rng.normal() }
    var want = start
    t.forEachElement(g) { row, pixel, column in want[pixel] += cols[row * ld + column] }
    var image = start, columns = cols
    image.withUnsafeMutableBufferPointer { ib in
      columns.withUnsafeMutableBufferPointer {
        col2imAccumulate(ib.baseAddress!, $0.baseAddress!, ldCols: ld, image: 0, geometry: g)
      }
    }
    #expect(zip(image, want).allSatisfy { $0.bitPattern == $1.bitPattern })
  }
}
