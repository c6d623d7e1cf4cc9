import Foundation

/// One parsed token of a model spec such as
/// `conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10`.
///
/// Grammar (tokens joined by `-`):
/// - `conv<C>k<K>[s<S>][p<P>]`: convolution to C channels, K x K kernel,
///   stride S (default 1), zero padding P (default 0);
/// - `pool<K>[s<S>]`: K x K max pooling, stride S (default K);
/// - `relu`, `flatten`;
/// - `fc<N>`: dense layer to N features (a flatten is inserted before the
///   first `fc` that follows an image-shaped input);
/// - `dropout<rate>`: e.g. `dropout0.5`;
/// - `bn`: batch normalisation over the channels of an image-shaped input
///   (after a conv) or the features of a vector (after an fc);
/// - `avgpool<K>[s<S>]`: K x K average pooling, stride S (default K);
/// - `gap`: global average pooling, [C, H, W] -> [C];
/// - `res<C>[s<S>]`: a basic residual block to C channels, stride S
///   (default 1), see ``ResidualBlock``.
public enum LayerToken: Equatable, Sendable {
  case conv(channels: Int, kernel: Int, stride: Int, padding: Int)
  case pool(kernel: Int, stride: Int)
  case avgPool(kernel: Int, stride: Int)
  case globalAvgPool
  case batchNorm
  case residual(channels: Int, stride: Int)
  case relu
  case flatten
  case dense(Int)
  case dropout(Float)

  /// Parses a whole spec.
  /// - Throws: ``ModelSpecError`` naming the first bad token.
  public static func parse(_ spec: String) throws -> [(token: String, layer: LayerToken)] {
    let parts = spec.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
    guard !spec.trimmingCharacters(in: .whitespaces).isEmpty else { throw ModelSpecError.empty }
    return try parts.enumerated().map { (i, t) in (t, try parseToken(t, position: i)) }
  }

  static func parseToken(_ t: String, position: Int) throws -> LayerToken {
    if t == "relu" { return .relu }
    if t == "flatten" { return .flatten }
    if t == "bn" { return .batchNorm }
    if t == "gap" { return .globalAvgPool }
    if t.hasPrefix("avgpool") {
      let w = try window(t, prefix: "avgpool", position: position)
      return .avgPool(kernel: w.kernel, stride: w.stride)
    }
    if t.hasPrefix("res") {
      let fields = try numbers(String(t.dropFirst(3)), keys: ["", "s"], token: t, position: position)
      guard let c = fields[""] else { throw ModelSpecError.unknownToken(t, position: position) }
      let s = fields["s"] ?? 1
      guard c > 0, s > 0 else {
        throw ModelSpecError.badNumber(token: t, reason: "channels and stride must be positive")
      }
      return .residual(channels: c, stride: s)
    }
    if t.hasPrefix("dropout") {
      guard let r = Float(t.dropFirst(7)) else { throw ModelSpecError.unknownToken(t, position: position) }
      guard r >= 0, r < 1 else {
        throw ModelSpecError.badNumber(token: t, reason: "the dropout rate must be in [0, 1)")
      }
      return .dropout(r)
    }
    if t.hasPrefix("conv") {
      let fields = try numbers(String(t.dropFirst(4)), keys: ["", "k", "s", "p"], token: t, position: position)
      guard let c = fields[""], let k = fields["k"] else { throw ModelSpecError.unknownToken(t, position: position) }
      let s = fields["s"] ?? 1, p = fields["p"] ?? 0
      guard c > 0, k > 0, s > 0 else {
        throw ModelSpecError.badNumber(token: t, reason: "channels, kernel and stride must be positive")
      }
      return .conv(channels: c, kernel: k, stride: s, padding: p)
    }
    if t.hasPrefix("pool") {
      let w = try window(t, prefix: "pool", position: position)
      return .pool(kernel: w.kernel, stride: w.stride)
    }
    if t.hasPrefix("fc") {
      guard let n = Int(t.dropFirst(2)) else { throw ModelSpecError.unknownToken(t, position: position) }
      guard n > 0 else { throw ModelSpecError.badNumber(token: t, reason: "the feature count must be positive") }
      return .dense(n)
    }
    throw ModelSpecError.unknownToken(t, position: position)
  }

  /// The window of a pooling token, `<prefix>K` or `<prefix>KsS` (stride
  /// default: K), as max and average pooling write it.
  static func window(_ t: String, prefix: String, position: Int) throws -> (kernel: Int, stride: Int) {
    let fields = try numbers(String(t.dropFirst(prefix.count)), keys: ["", "s"], token: t, position: position)
    guard let k = fields[""] else { throw ModelSpecError.unknownToken(t, position: position) }
    let s = fields["s"] ?? k
    guard k > 0, s > 0 else { throw ModelSpecError.badNumber(token: t, reason: "window and stride must be positive") }
    return (k, s)
  }

  /// Splits `"32k5s2"` into `["": 32, "k": 5, "s": 2]`; keys must appear in order.
  static func numbers(_ s: String, keys: [String], token: String, position: Int) throws -> [String: Int] {
    var result: [String: Int] = [:]
    var key = "", digits = ""
    var allowed = keys[...]
    func flush() throws {
      guard !digits.isEmpty, let v = Int(digits) else { throw ModelSpecError.unknownToken(token, position: position) }
      guard let idx = allowed.firstIndex(of: key) else { throw ModelSpecError.unknownToken(token, position: position) }
      result[key] = v
      allowed = allowed[(idx + 1)...]
    }
    for ch in s {
      if ch.isNumber {
        digits.append(ch)
      } else {
        try flush()
        key = String(ch); digits = ""
      }
    }
    try flush()
    return result
  }
}
