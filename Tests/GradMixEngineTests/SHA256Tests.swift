import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("SHA-256")
struct SHA256Tests {
  /// FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the empty message.
  @Test(
    "FIPS 180-4 vectors",
    arguments: [
      ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
      (
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
      ),
    ])
  func vectors(_ v: (String, String)) {
    #expect(SHA256.hex(Array(v.0.utf8)) == v.1)
  }

  @Test("a million 'a's, fed in uneven pieces and from a file, give the FIPS digest")
  func streaming() throws {
    let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    var s = SHA256()
    var fed = 0
    for size in [1, 63, 64, 65, 1000, 4095] {
      s.update([UInt8](repeating: 0x61, count: size)); fed += size
    }
    s.update([UInt8](repeating: 0x61, count: 1_000_000 - fed))
    #expect(s.finalizeHex() == expected)
    let path = try makeTemporaryDirectory("sha") + "/a"
    try Data(repeating: 0x61, count: 1_000_000).write(to: URL(fileURLWithPath: path))
    #expect(SHA256.hex(ofFile: path) == expected)
    #expect(SHA256.hex(ofFile: path + ".missing") == nil)
  }
}
