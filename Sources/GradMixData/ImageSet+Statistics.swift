/// Per-channel pixel statistics of an image set, in pixel units (0-255).
public struct ChannelStatistics: Equatable, Sendable {
  public var mean: [Double]
  public var std: [Double]
  public var min: [UInt8]
  public var max: [UInt8]
}

extension ImageSet {
  /// Mean, (population) standard deviation, minimum and maximum of each channel over all images.
  public func channelStatistics() -> ChannelStatistics {
    var mean = [Double](), std = [Double](), lo = [UInt8](), hi = [UInt8]()
    let n = count * height * width
    pixels.withUnsafeBufferPointer { px in
      for c in 0..<channels {
        // Exact integer sums: UInt64 holds 2^64 / 255^2 > 2.8e14 pixels.
        var sum: UInt64 = 0, sq: UInt64 = 0, mn: UInt8 = 255, mx: UInt8 = 0
        for k in stride(from: c, to: px.count, by: channels) {
          let v = px[k]
          sum &+= UInt64(v)
          sq &+= UInt64(v) * UInt64(v)
          mn = Swift.min(mn, v)
          mx = Swift.max(mx, v)
        }
        let m = Double(sum) / Double(Swift.max(1, n))
        mean.append(m)
        std.append(Swift.max(0, Double(sq) / Double(Swift.max(1, n)) - m * m).squareRoot())
        if n > 0 { lo.append(mn); hi.append(mx) }
      }
    }
    return ChannelStatistics(mean: mean, std: std, min: lo, max: hi)
  }
}
