/// Derives independent, reproducible seeds for the run's random streams
/// from the run seed and a tag (`"source"`, `"meta"`, ...), so a stream does
/// not depend on which rank owns it or on how many other streams exist.
public enum Seeds {
  public static func derive(_ seed: UInt64, _ tag: String, _ index: Int = 0) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
    for b in tag.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    h ^= UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15
    // SplitMix64 finaliser.
    h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
    return h ^ (h >> 31)
  }
}
