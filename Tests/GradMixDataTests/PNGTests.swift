import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("PNG pictures")
struct PNGTests {
  @Test("a PNG starts with the signature and every chunk's CRC is valid")
  func pngChunks() throws {
    let dir = try DataFixtures.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let set = DataFixtures.randomSet(count: 20, height: 6, width: 5, channels: 3)
    let g = gridImage(set, perClass: 3, classCount: 10, scale: 2)
    #expect(g.width == 2 + 10 * (10 + 2) && g.height == 2 + 3 * (12 + 2))
    let path = dir + "/g.png"
    try PNG.write(path, width: g.width, height: g.height, rgb: g.rgb)
    let bytes = try FileBytes.readRaw(path)
    #expect(Array(bytes.prefix(8)) == PNG.signature)
    var o = 8
    var types = [String]()
    var idat = [UInt8]()
    while o < bytes.count {
      let len = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
      let body = Array(bytes[(o + 4)..<(o + 8 + len)])
      let stored =
        UInt32(bytes[o + 8 + len]) << 24 | UInt32(bytes[o + 9 + len]) << 16
        | UInt32(bytes[o + 10 + len]) << 8 | UInt32(bytes[o + 11 + len])
      #expect(
        PNG.chunk(String(decoding: body.prefix(4), as: UTF8.self), Array(body.dropFirst(4))).suffix(4)
          == PNG.bigEndian(stored)[...])
      #expect(stored == Self.crc32(body))
      types.append(String(decoding: body.prefix(4), as: UTF8.self))
      if types.last == "IDAT" { idat += body.dropFirst(4) }
      o += 12 + len
    }
    #expect(types == ["IHDR", "IDAT", "IEND"] && o == bytes.count)
    #expect(idat.count > 2 && idat[0] & 0x0f == 8)  // a zlib stream (deflate)
  }

  /// An independent bitwise CRC-32 (IEEE), to check zlib's.
  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xffff_ffff
    for b in bytes {
      c ^= UInt32(b)
      for _ in 0..<8 { c = c & 1 == 1 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
  }

  @Test("grids put class c in column c and stack sets with numbered blocks")
  func gridLayout() throws {
    let set = ImageSet(height: 1, width: 1, channels: 1, pixels: [10, 20, 30], labels: [2, 0, 2])
    let g = gridImage(set, perClass: 2, classCount: 3, scale: 1)
    #expect(g.width == 2 + 3 * 3 && g.height == 2 + 2 * 3)
    let at = { (x: Int, y: Int) in g.rgb[(y * g.width + x) * 3] }
    #expect(at(2, 2) == 20 && at(8, 2) == 10 && at(8, 5) == 30 && at(5, 2) == 32 && at(0, 0) == 32)
    let s = gridImage(stacking: [set, set], perClass: 1, classCount: 3, scale: 1)
    #expect(s.height == 2 + 2 * (3 + 6))
    #expect(s.rgb.contains(220))  // the block numbers
  }
}
