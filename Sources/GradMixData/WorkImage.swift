import Foundation

/// One image being transformed: HWC uint8 of any size and 1 to 4 channels.
///
/// Domains are built one image at a time through their transform chain, so
/// an image's output depends only on its own input and random stream.
struct WorkImage: Equatable {
  var height: Int
  var width: Int
  var channels: Int
  var px: [UInt8]  // [H, W, C]

  init(height: Int, width: Int, channels: Int, px: [UInt8]) {
    precondition(
      px.count == height * width * channels,
      "A \(height)x\(width)x\(channels) image needs \(height * width * channels) values, got \(px.count).")
    (self.height, self.width, self.channels, self.px) = (height, width, channels, px)
  }

  // MARK: - Colour

  /// ITU-R 601 luma of RGB (as Pillow's "L"); the value itself for grey.
  static func luma(_ r: Double, _ g: Double, _ b: Double) -> Double { 0.299 * r + 0.587 * g + 0.114 * b }

  /// The luminance of every pixel, [H, W].
  func luminance() -> [UInt8] {
    let n = height * width
    switch channels {
    case 1, 2: return (0..<n).map { px[$0 * channels] }
    default:
      return (0..<n).map { i in
        let o = i * channels
        return UInt8(min(255, WorkImage.luma(Double(px[o]), Double(px[o + 1]), Double(px[o + 2])).rounded()))
      }
    }
  }

  /// The image as 3-channel RGB: grey is replicated, alpha is dropped.
  func rgb() -> WorkImage {
    if channels == 3 { return self }
    let n = height * width
    var out = [UInt8](repeating: 0, count: n * 3)
    for i in 0..<n {
      for c in 0..<3 { out[i * 3 + c] = px[i * channels + (channels >= 3 ? c : 0)] }
    }
    return WorkImage(height: height, width: width, channels: 3, px: out)
  }

  // MARK: - Geometry

  /// Bilinear resampling to `h`x`w` with pixel centres aligned (half-pixel
  /// convention, edges clamped), as PyTorch's `align_corners=False`.
  func resized(height h: Int, width w: Int) -> WorkImage {
    if h == height && w == width { return self }
    var out = [UInt8](repeating: 0, count: h * w * channels)
    let sy = Double(height) / Double(h), sx = Double(width) / Double(w)
    for y in 0..<h {
      let fy = min(max((Double(y) + 0.5) * sy - 0.5, 0), Double(height - 1))
      let y0 = Int(fy), y1 = min(y0 + 1, height - 1), ty = fy - Double(y0)
      for x in 0..<w {
        let fx = min(max((Double(x) + 0.5) * sx - 0.5, 0), Double(width - 1))
        let x0 = Int(fx), x1 = min(x0 + 1, width - 1), tx = fx - Double(x0)
        for c in 0..<channels {
          let top =
            Double(px[(y0 * width + x0) * channels + c]) * (1 - tx) + Double(px[(y0 * width + x1) * channels + c]) * tx
          let bot =
            Double(px[(y1 * width + x0) * channels + c]) * (1 - tx) + Double(px[(y1 * width + x1) * channels + c]) * tx
          out[(y * w + x) * channels + c] = UInt8(min(255, (top * (1 - ty) + bot * ty).rounded()))
        }
      }
    }
    return WorkImage(height: h, width: w, channels: channels, px: out)
  }

  /// Rotation by `degrees` (counter-clockwise) about the image centre,
  /// bilinear, with zero outside the source image.
  func rotated(degrees: Double) -> WorkImage {
    let a = degrees * Double.pi / 180, cosA = cos(a), sinA = sin(a)
    let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
    var out = [UInt8](repeating: 0, count: px.count)
    func at(_ x: Int, _ y: Int, _ c: Int) -> Double {
      x < 0 || y < 0 || x >= width || y >= height ? 0 : Double(px[(y * width + x) * channels + c])
    }
    for y in 0..<height {
      for x in 0..<width {
        let dx = Double(x) - cx, dy = Double(y) - cy
        let sx = cx + cosA * dx - sinA * dy, sy = cy + sinA * dx + cosA * dy
        let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
        let tx = sx - Double(x0), ty = sy - Double(y0)
        guard x0 >= -1, y0 >= -1, x0 < width, y0 < height else { continue }
        for c in 0..<channels {
          let v =
            (at(x0, y0, c) * (1 - tx) + at(x0 + 1, y0, c) * tx) * (1 - ty)
            + (at(x0, y0 + 1, c) * (1 - tx) + at(x0 + 1, y0 + 1, c) * tx) * ty
          out[(y * width + x) * channels + c] = UInt8(min(255, max(0, v.rounded())))
        }
      }
    }
    return WorkImage(height: height, width: width, channels: channels, px: out)
  }
}
