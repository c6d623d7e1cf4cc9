/// Derives independent 64-bit seeds from several parts (a seed, a name, an index).
///
/// Each part is folded in with SplitMix64's finaliser, so nearby inputs
/// (image 7 and image 8, seed 1 and seed 2) give unrelated streams. Names are
/// hashed with FNV-1a over their UTF-8 bytes, which is stable across runs and
/// platforms (unlike `Hasher`).
public enum SeedMix {
  /// SplitMix64's output function.
  @inlinable public static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// FNV-1a 64 of the UTF-8 bytes of `s`.
  public static func hash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return h
  }

  /// A seed that depends on every part and their order.
  public static func combine(_ parts: UInt64...) -> UInt64 {
    var h: UInt64 = 0x6a09_e667_f3bc_c908
    for p in parts { h = mix(h ^ mix(p)) }
    return h
  }
}
