import Foundation

/// Reads a labelled dataset from a NumPy `.npz` archive: `x` arrays (images
/// or feature vectors) and `y` arrays (integer labels) for train and test.
///
/// - `x` uint8 or float32/float64; `[N, D]` is N feature vectors, `[N, H, W]`
///   grey images, `[N, A, B, C]` images as NHWC or NCHW. Inference rule
///   (unless `layout:` says): NHWC if the last axis is 1, 3 or 4, else NCHW
///   if the second axis is 1, 3 or 4, else an error asking for `layout:`.
/// - Float images are stored as uint8 (Choice: keeps 4x less memory, like
///   every other image source): values in [0, 1] are scaled by 255, values in
///   [0, 255] kept, both rounded; other ranges are an error. Feature vectors
///   are kept exactly: float32 as is, uint8 widened to float.
/// - `y` is any integer type, `[N]` or `[N, 1]`, with labels in 0..<2^24.
/// - Non-finite values are an error naming the array.
/// Every header is checked against `model.input` and ``DataMemory`` before
/// any array is read in full.
enum NPZDataset {
  /// The largest label accepted plus one.
  static let maxClasses = 1 << 24

  /// What `x` holds, from its header.
  enum Kind: Equatable {
    case features(dimension: Int)
    /// height, width, channels, and whether the array is channels-first.
    case images(height: Int, width: Int, channels: Int, channelsFirst: Bool)
  }

  /// Loads one part (`x_<part>` and `y_<part>`, or the names `arrays` gives).
  ///
  /// - Parameters:
  ///   - path: the archive.
  ///   - part: `train` or `test`.
  ///   - arrays: name overrides, keyed `x_train`, `y_train`, `x_test`, `y_test`.
  ///   - layout: `nhwc`, `nchw` or nil (infer).
  ///   - shape: `model.input`; feature vectors need `[D]` with the same D, images `[C, H, W]`.
  /// - Returns: the set, or nil if the archive has no arrays for this part.
  static func load(path: String, part: String, arrays: [String: String], layout: String?, shape: [Int]) throws
    -> ImageSet?
  {
    let zip = try ZipArchive(path: path)
    let xName = arrays["x_\(part)"] ?? "x_\(part)", yName = arrays["y_\(part)"] ?? "y_\(part)"
    func find(_ name: String) -> ZipArchive.Member? { zip.member(name + ".npy") ?? zip.member(name) }
    guard let xm = find(xName) else {
      if part == "train" || find(yName) != nil {
        throw DataError.badFormat(
          path: path,
          detail:
            "has no array '\(xName)' (arrays: \(zip.members.map { $0.name.replacingOccurrences(of: ".npy", with: "") }.joined(separator: ", ")))"
        )
      }
      return nil
    }
    guard let ym = find(yName) else {
      throw DataError.badFormat(path: path, detail: "has no array '\(yName)' for the labels of '\(xName)'")
    }
    let xWhere = "\(path)[\(xm.name)]", yWhere = "\(path)[\(ym.name)]"
    let xh = try NPY.header(try zip.prefix(xm, count: NPY.maxHeader + 12), name: xWhere)
    let yh = try NPY.header(try zip.prefix(ym, count: NPY.maxHeader + 12), name: yWhere)
    let kind = try classify(xh, layout: layout, name: xWhere)
    let n = xh.shape.first ?? 0
    // Shapes against model.input first: nothing large is read before this.
    switch kind {
    case .features(let d):
      guard shape == [d] else {
        throw DataError.shapeMismatch(what: xWhere, data: "feature vectors [\(d)]", model: shape)
      }
    case .images(let h, let w, let c, _):
      guard shape.count == 3 else {
        throw DataError.shapeMismatch(what: xWhere, data: "images [\(c), \(h), \(w)]", model: shape)
      }
    }
    guard !yh.dtype.isFloat, yh.shape == [n] || yh.shape == [n, 1] else {
      throw DataError.dimensionMismatch(
        path: yWhere,
        detail:
          "labels must be integers of shape [\(n)] to match \(xm.name) \(xh.shape), found \(yh.dtype.rawValue) \(yh.shape)"
      )
    }
    guard n > 0 else { throw DataError.empty(path: xWhere) }
    var keep = xh.count
    if case .features = kind { keep = xh.count * 4 }
    try DataMemory.check(xm.size + keep, what: xWhere)
    let xBytes = try zip.read(xm)
    try NPY.checkLength(xh, bytes: xBytes.count, name: xWhere)
    let yBytes = try zip.read(ym)
    try NPY.checkLength(yh, bytes: yBytes.count, name: yWhere)
    let labels = try readLabels(yBytes, yh, name: yWhere)
    switch kind {
    case .features(let d):
      let values = try readFloats(xBytes, xh, name: xWhere)
      return ImageSet(features: values, dimension: d, labels: labels)
    case .images(let h, let w, let c, let channelsFirst):
      let px = try readPixels(xBytes, xh, name: xWhere)
      let hwc = channelsFirst ? toHWC(px, count: n, channels: c, height: h, width: w) : px
      return ImageSet(height: h, width: w, channels: c, pixels: hwc, labels: labels)
    }
  }

  /// Features or images, by the rule in the type's discussion.
  static func classify(_ h: NPY.Header, layout: String?, name: String) throws -> Kind {
    let s = h.shape
    guard h.dtype == .u1 || h.dtype.isFloat else {
      throw DataError.badFormat(path: name, detail: "x must be uint8, float32 or float64, found \(h.dtype.rawValue)")
    }
    switch s.count {
    case 2:
      guard s[1] > 0 else { throw DataError.dimensionMismatch(path: name, detail: "feature vectors of dimension 0") }
      return .features(dimension: s[1])
    case 3:
      guard s[1] > 0, s[2] > 0 else { throw DataError.dimensionMismatch(path: name, detail: "empty images \(s)") }
      return .images(height: s[1], width: s[2], channels: 1, channelsFirst: false)
    case 4:
      let nhwc: Bool
      switch layout {
      case "nhwc": nhwc = true
      case "nchw": nhwc = false
      default:
        if [1, 3, 4].contains(s[3]) {
          nhwc = true
        } else if [1, 3, 4].contains(s[1]) {
          nhwc = false
        } else {
          throw DataError.dimensionMismatch(
            path: name,
            detail:
              "cannot tell NHWC from NCHW for shape \(s) (no axis of 1, 3 or 4 channels); add layout: nhwc or nchw")
        }
      }
      let (hh, ww, cc) = nhwc ? (s[1], s[2], s[3]) : (s[2], s[3], s[1])
      guard hh > 0, ww > 0, (1...4).contains(cc) else {
        throw DataError.dimensionMismatch(
          path: name, detail: "images need 1 to 4 channels and a positive size, found \(s) as \(nhwc ? "NHWC" : "NCHW")"
        )
      }
      return .images(height: hh, width: ww, channels: cc, channelsFirst: !nhwc)
    default:
      throw DataError.dimensionMismatch(
        path: name, detail: "x must be [N, D], [N, H, W] or [N, H, W, C]/[N, C, H, W], found \(s)")
    }
  }

  static func readLabels(_ bytes: [UInt8], _ h: NPY.Header, name: String) throws -> [Int32] {
    let n = h.count
    return try bytes.withUnsafeBytes { raw in
      let p = raw.baseAddress! + h.dataOffset
      var out = [Int32](repeating: 0, count: n)
      for i in 0..<n {
        let v = NPY.element(p, h.dtype, i)
        guard v >= 0 && v < Double(maxClasses) else {
          throw DataError.labelOutOfRange(
            path: name, index: i, label: Int(clamping: Int64(exactly: v) ?? -1), range: 0..<maxClasses)
        }
        out[i] = Int32(v)
      }
      return out
    }
  }

  static func readFloats(_ bytes: [UInt8], _ h: NPY.Header, name: String) throws -> [Float] {
    try bytes.withUnsafeBytes { raw in
      let p = raw.baseAddress! + h.dataOffset
      var out = [Float](repeating: 0, count: h.count)
      for i in 0..<h.count {
        let v = Float(NPY.element(p, h.dtype, i))
        guard v.isFinite else { throw DataError.badFormat(path: name, detail: "value \(i) is not finite (\(v))") }
        out[i] = v
      }
      return out
    }
  }

  /// uint8 as is; floats by the [0, 1] / [0, 255] rule.
  static func readPixels(_ bytes: [UInt8], _ h: NPY.Header, name: String) throws -> [UInt8] {
    if h.dtype == .u1 { return Array(bytes[h.dataOffset...]) }
    return try bytes.withUnsafeBytes { raw in
      let p = raw.baseAddress! + h.dataOffset
      var lo = Double.infinity, hi = -Double.infinity
      for i in 0..<h.count {
        let v = NPY.element(p, h.dtype, i)
        guard v.isFinite else { throw DataError.badFormat(path: name, detail: "value \(i) is not finite") }
        lo = min(lo, v)
        hi = max(hi, v)
      }
      guard lo >= 0 && hi <= 255 else {
        throw DataError.badFormat(
          path: name, detail: "float images must lie in [0, 1] or [0, 255], found [\(lo), \(hi)]")
      }
      let scale = hi <= 1 ? 255.0 : 1.0
      var out = [UInt8](repeating: 0, count: h.count)
      for i in 0..<h.count { out[i] = UInt8(min(255, (NPY.element(p, h.dtype, i) * scale).rounded())) }
      return out
    }
  }

  /// `[N, C, H, W]` to `[N, H, W, C]`.
  static func toHWC(_ px: [UInt8], count n: Int, channels c: Int, height h: Int, width w: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: px.count)
    let plane = h * w
    for i in 0..<n {
      let base = i * c * plane
      for ch in 0..<c {
        for k in 0..<plane { out[base + k * c + ch] = px[base + ch * plane + k] }
      }
    }
    return out
  }
}
