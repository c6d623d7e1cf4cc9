/// Naive double-precision reference kernels (llm.c keeps `matmul_forward_naive`
/// beside the fast one): direct loops that follow the definitions, used by the
/// tests to check the im2col/GEMM implementation.
public enum Reference {
  /// Direct convolution. x [N, C, H, W], w [OC, C, K, K], b [OC] -> [N, OC, OH, OW].
  public static func conv2d(
    x: [Double], n: Int, c: Int, h: Int, w: Int, weight: [Double], bias: [Double], outChannels oc: Int,
    kernel k: Int, stride s: Int, padding p: Int
  ) -> (y: [Double], oh: Int, ow: Int) {
    let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
    var y = [Double](repeating: 0, count: n * oc * oh * ow)
    for i in 0..<n {
      for o in 0..<oc {
        for yy in 0..<oh {
          for xx in 0..<ow {
            var acc = bias[o]
            for ci in 0..<c {
              for kh in 0..<k {
                for kw in 0..<k {
                  let ih = yy * s - p + kh, iw = xx * s - p + kw
                  if ih >= 0 && ih < h && iw >= 0 && iw < w {
                    acc += x[((i * c + ci) * h + ih) * w + iw] * weight[((o * c + ci) * k + kh) * k + kw]
                  }
                }
              }
            }
            y[((i * oc + o) * oh + yy) * ow + xx] = acc
          }
        }
      }
    }
    return (y, oh, ow)
  }

  /// Gradients of the direct convolution for upstream gradient dy.
  public static func conv2dBackward(
    dy: [Double], x: [Double], n: Int, c: Int, h: Int, w: Int, weight: [Double], outChannels oc: Int,
    kernel k: Int, stride s: Int, padding p: Int
  ) -> (dx: [Double], dw: [Double], db: [Double]) {
    let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
    var dx = [Double](repeating: 0, count: x.count)
    var dw = [Double](repeating: 0, count: weight.count)
    var db = [Double](repeating: 0, count: oc)
    for i in 0..<n {
      for o in 0..<oc {
        for yy in 0..<oh {
          for xx in 0..<ow {
            let g = dy[((i * oc + o) * oh + yy) * ow + xx]
            db[o] += g
            for ci in 0..<c {
              for kh in 0..<k {
                for kw in 0..<k {
                  let ih = yy * s - p + kh, iw = xx * s - p + kw
                  if ih >= 0 && ih < h && iw >= 0 && iw < w {
                    let xi = ((i * c + ci) * h + ih) * w + iw, wi = ((o * c + ci) * k + kh) * k + kw
                    dw[wi] += g * x[xi]
                    dx[xi] += g * weight[wi]
                  }
                }
              }
            }
          }
        }
      }
    }
    return (dx, dw, db)
  }
}
