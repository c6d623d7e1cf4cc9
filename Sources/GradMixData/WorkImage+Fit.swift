extension WorkImage {
  // MARK: - Fitting to model.input

  /// The image with `c` channels: 3 replicates grey (and drops alpha), 1
  /// takes the ITU-R 601 luma of colour (as Pillow's "L").
  func converted(channels c: Int) -> WorkImage {
    precondition(c == 1 || c == 3, "Images are converted to 1 or 3 channels, not \(c).")
    if c == channels { return self }
    if c == 3 { return rgb() }
    return WorkImage(height: height, width: width, channels: 1, px: luminance())
  }

  /// The image resized to `h`x`w`: area averaging when both sides shrink,
  /// bilinear (``resized(height:width:)``) otherwise.
  ///
  /// Choice: area averaging (each output pixel is the coverage-weighted mean
  /// of the source pixels under it, as OpenCV's `INTER_AREA` and PyTorch's
  /// `adaptive_avg_pool2d`) does not alias when a photo is shrunk several-fold;
  /// bilinear with half-pixel centres (PyTorch's `align_corners=False`) is
  /// smooth for enlarging and keeps the digits benchmark's 28x28 path unchanged.
  func fitted(height h: Int, width w: Int) -> WorkImage {
    if h == height && w == width { return self }
    guard h <= height && w <= width else { return resized(height: h, width: w) }
    let xs = WorkImage.coverage(from: width, to: w), ys = WorkImage.coverage(from: height, to: h)
    var out = [UInt8](repeating: 0, count: h * w * channels)
    var row = [Double](repeating: 0, count: w * channels)
    for y in 0..<h {
      for k in row.indices { row[k] = 0 }
      for (sy, wy) in ys[y] {
        for x in 0..<w {
          for (sx, wx) in xs[x] {
            let s = (sy * width + sx) * channels, weight = wy * wx
            for c in 0..<channels { row[x * channels + c] += Double(px[s + c]) * weight }
          }
        }
      }
      for k in 0..<(w * channels) { out[y * w * channels + k] = UInt8(min(255, max(0, row[k].rounded()))) }
    }
    return WorkImage(height: h, width: w, channels: channels, px: out)
  }

  /// For each of `m` output cells, the source indices it covers and their weights (summing to 1).
  static func coverage(from n: Int, to m: Int) -> [[(Int, Double)]] {
    let scale = Double(n) / Double(m)
    return (0..<m).map { i in
      let lo = Double(i) * scale, hi = Double(i + 1) * scale
      var cells = [(Int, Double)]()
      var s = Int(lo)
      while Double(s) < hi && s < n {
        let overlap = min(hi, Double(s + 1)) - max(lo, Double(s))
        if overlap > 1e-12 { cells.append((s, overlap / scale)) }
        s += 1
      }
      return cells
    }
  }
}
