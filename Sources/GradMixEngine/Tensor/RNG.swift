/// A seeded, reproducible random number generator (xoshiro256**, seeded
/// through SplitMix64) whose whole state is four integers, so it can be
/// saved in a checkpoint and restored bit-exactly.
public struct RNG: RandomNumberGenerator, Codable, Equatable, Sendable {
  @usableFromInline var s0: UInt64
  @usableFromInline var s1: UInt64
  @usableFromInline var s2: UInt64
  @usableFromInline var s3: UInt64

  /// The four state words, for saving in a checkpoint.
  public var state: [UInt64] { [s0, s1, s2, s3] }

  /// Seeds the generator; different seeds give independent streams.
  public init(seed: UInt64) {
    var sm = seed
    var s = [UInt64](repeating: 0, count: 4)
    for i in 0..<4 {
      sm &+= 0x9E37_79B9_7F4A_7C15
      var z = sm
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      s[i] = z ^ (z >> 31)
    }
    if s.allSatisfy({ $0 == 0 }) { s[0] = 1 }
    (s0, s1, s2, s3) = (s[0], s[1], s[2], s[3])
  }

  /// Restores a generator from a saved state (four words, not all zero).
  public init?(state: [UInt64]) {
    guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
    (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
  }

  public init(from decoder: Decoder) throws {
    // Stored as hex strings: JSON numbers above 2^53 are not portable.
    let hex = try decoder.singleValueContainer().decode([String].self)
    let words = hex.compactMap { UInt64($0, radix: 16) }
    guard words.count == hex.count, let rng = RNG(state: words) else {
      throw DecodingError.dataCorrupted(
        .init(
          codingPath: decoder.codingPath,
          debugDescription: "An RNG state is four words, not all zero; got \(hex)."))
    }
    self = rng
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(state.map { String($0, radix: 16) })
  }

  @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  @inlinable public mutating func next() -> UInt64 {
    let result = RNG.rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = RNG.rotl(s3, 45)
    return result
  }

  /// A uniform `Float` in [0, 1) with 24 random bits.
  public mutating func uniform() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// A standard normal sample (Box–Muller in double precision).
  public mutating func normal() -> Float {
    let u1 = (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
  }

  /// A uniform integer in `0..<bound` (Lemire's unbiased method via the stdlib).
  public mutating func int(below bound: Int) -> Int {
    precondition(bound > 0, "The bound of a random integer must be positive, got \(bound).")
    return Int.random(in: 0..<bound, using: &self)
  }

  /// Shuffles `array` in place (Fisher–Yates, reproducible for a seed).
  public mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      let j = int(below: i + 1)
      if i != j { array.swapAt(i, j) }
    }
  }
}
