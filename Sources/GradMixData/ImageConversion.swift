/// Converts uint8 HWC images to the engine's float NCHW input.
///
/// Every value maps as `pixel / 255 * 2 − 1`, into [−1, 1], through a
/// 256-entry table, so training batches and evaluation see identical values.
public enum ImageConversion {
  /// The float of each pixel value.
  public static let table: [Float] = (0..<256).map { Float($0) / 255 * 2 - 1 }

  /// Writes the images at `indices` into `into` as `[indices.count, C, H, W]`.
  ///
  /// - Parameters:
  ///   - set: the images.
  ///   - indices: which images, in order (each in `0..<set.count`).
  ///   - into: room for `indices.count * C * H * W` floats.
  public static func toFloatNCHW(_ set: ImageSet, indices: some Collection<Int>, into: UnsafeMutablePointer<Float>) {
    var k = 0
    for i in indices {
      precondition(i >= 0 && i < set.count, "Image index \(i) is outside 0..<\(set.count).")
      writeImage(set, index: i, shiftX: 0, shiftY: 0, into: into + k * set.imageSize)
      k += 1
    }
  }

  /// Writes image `index` as `[C, H, W]`, translated by (shiftX, shiftY) pixels;
  /// pixels shifted in from outside are 0 (−1 after conversion).
  /// Feature vectors are copied as stored, and never shifted.
  static func writeImage(_ set: ImageSet, index: Int, shiftX: Int, shiftY: Int, into out: UnsafeMutablePointer<Float>) {
    if set.isFeatures {
      let d = set.channels
      set.features.withUnsafeBufferPointer { f in out.update(from: f.baseAddress! + index * d, count: d) }
      return
    }
    let h = set.height, w = set.width, c = set.channels
    table.withUnsafeBufferPointer { t in
      set.pixels.withUnsafeBufferPointer { px in
        let src = px.baseAddress! + index * h * w * c
        for ch in 0..<c {
          let plane = out + ch * h * w
          for y in 0..<h {
            let sy = y - shiftY
            let row = plane + y * w
            guard sy >= 0 && sy < h else {
              row.update(repeating: t[0], count: w)
              continue
            }
            for x in 0..<w {
              let sx = x - shiftX
              row[x] = sx >= 0 && sx < w ? t[Int(src[(sy * w + sx) * c + ch])] : t[0]
            }
          }
        }
      }
    }
  }
}
