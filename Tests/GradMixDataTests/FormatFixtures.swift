import CZlib
import Foundation

@testable import GradMixData

/// Writers of the file formats the new readers take (.npy/.npz, PNG of every
/// colour type) and small files made by NumPy 2.2.6 and Pillow, embedded as base64.
enum FormatFixtures {
  /// `np.savez(b, x_train=np.arange(36, dtype=np.uint8).reshape(2, 3, 2, 3), y_train=np.array([0, 2]),
  /// feats=np.array([[0.5, -1.25], [3, 4]], np.float32), labels=np.array([1, 0], np.uint8))`: stored, zip64 fields.
  static let numpySavez = """
    UEsDBC0AAAAAAAAAIQANhpXL//////////8LABQAeF90cmFpbi5ucHkBABAApAAAAAAAAACkAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3x1MScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAzLCAyLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjUEsDBC0AAAAAAAAAIQCdbXRH//////////8LABQAeV90cmFpbi5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAAAACAAAAAAAAAFBLAwQtAAAAAAAAACEANhJEFv//////////CQAUAGZlYXRzLm5weQEAEACQAAAAAAAAAJAAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAA/AACgvwAAQEAAAIBAUEsDBC0AAAAAAAAAIQBOY2ux//////////8KABQAbGFiZWxzLm5weQEAEACCAAAAAAAAAIIAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAFBLAQItAy0AAAAAAAAAIQANhpXLpAAAAKQAAAALAAAAAAAAAAAAAACAAQAAAAB4X3RyYWluLm5weVBLAQItAy0AAAAAAAAAIQCdbXRHkAAAAJAAAAALAAAAAAAAAAAAAACAAeEAAAB5X3RyYWluLm5weVBLAQItAy0AAAAAAAAAIQA2EkQWkAAAAJAAAAAJAAAAAAAAAAAAAACAAa4BAABmZWF0cy5ucHlQSwECLQMtAAAAAAAAACEATmNrsYIAAACCAAAACgAAAAAAAAAAAAAAgAF5AgAAbGFiZWxzLm5weVBLBQYAAAAABAAEAOEAAAA3AwAAAAA=
    """
  /// `np.savez_compressed(b, x_train=np.array([[0.5, -1.25, 2], [3, 4, 5]], np.float32),
  /// y_train=np.array([1, 0], np.int32), x_test=np.array([[1, 1, 1]], np.float32), y_test=np.array([1], np.int16))`.
  static let numpySavezCompressed = """
    UEsDBC0AAAAIAAAAIQCNIvNd//////////8LABQAeF90cmFpbi5ucHkBABAAmAAAAAAAAABZAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CsaaOgq1CmQDLgYGBnsGhgX7gbQDEAFxAxAvcAAAUEsDBC0AAAAIAAAAIQCAMaOH//////////8LABQAeV90cmFpbi5ucHkBABAAiAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6mjoKtQoUAC5GBggAAFBLAwQtAAAACAAAACEAOdDZW///////////CgAUAHhfdGVzdC5ucHkBABAAjAAAAAAAAABMAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GoY6CsaaOgq1CmQDLgaGBnsYBgBQSwMELQAAAAgAAAAhAEdoMRf//////////woAFAB5X3Rlc3QubnB5AQAQAIIAAAAAAAAARgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2mkrqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RqGOpo6CrUKFAAuRgYAUEsBAi0DLQAAAAgAAAAhAI0i811ZAAAAmAAAAAsAAAAAAAAAAAAAAIABAAAAAHhfdHJhaW4ubnB5UEsBAi0DLQAAAAgAAAAhAIAxo4dIAAAAiAAAAAsAAAAAAAAAAAAAAIABlgAAAHlfdHJhaW4ubnB5UEsBAi0DLQAAAAgAAAAhADnQ2VtMAAAAjAAAAAoAAAAAAAAAAAAAAIABGwEAAHhfdGVzdC5ucHlQSwECLQMtAAAACAAAACEAR2gxF0YAAACCAAAACgAAAAAAAAAAAAAAgAGjAQAAeV90ZXN0Lm5weVBLBQYAAAAABAAEAOIAAAAlAgAAAAA=
    """
  /// Pillow 11, quality 95: a 16x8 RGB JPEG, left half (200, 40, 40), right half (40, 40, 200).
  static let jpegRGB = """
    /9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAIABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD5frweiiv2r6Hv/M7/AO5b/wB2D+hvpU/8yf8A7mP/AHAf/9k=
    """
  /// Pillow 11, quality 95: an 8x8 greyscale JPEG of value 200.
  static let jpegGrey = """
    /9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AP0gr//Z
    """

  static func decode(_ base64: String) -> [UInt8] {
    [UInt8](Data(base64Encoded: base64.filter { !$0.isWhitespace }) ?? Data())
  }

  // MARK: - .npy and .npz

  /// A version-1 `.npy` file: header for `descr` and `shape`, then `data` (little-endian values).
  static func npy(_ descr: String, _ shape: [Int], _ data: [UInt8]) -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    let n = header.utf8.count
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(header.utf8) + data
  }

  static func bytes(_ floats: [Float]) -> [UInt8] {
    floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
  }
  static func bytes(_ ints: [Int64]) -> [UInt8] { ints.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

  /// A zip archive (no zip64) of `members`, stored or raw-deflated.
  static func zip(
    _ members: [(name: String, data: [UInt8])], deflate: Bool, deflater: ([UInt8]) -> [UInt8] = rawDeflate
  ) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16 & 0xffff) }
    var out = [UInt8](), central = [UInt8]()
    for m in members {
      let crc = m.data.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
      let body = deflate ? deflater(m.data) : m.data
      let name = Array(m.name.utf8)
      let method = deflate ? 8 : 0
      let offset = out.count
      out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(method) + le16(0) + le16(0) + le32(crc)
      out += le32(body.count) + le32(m.data.count) + le16(name.count) + le16(0) + name + body
      central += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(method) + le16(0) + le16(0) + le32(crc)
      central += le32(body.count) + le32(m.data.count) + le16(name.count) + le16(0) + le16(0) + le16(0) + le16(0)
      central += le32(0) + le32(offset) + name
    }
    let cdOffset = out.count
    out += central
    out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
    out += le32(central.count) + le32(cdOffset) + le16(0)
    return out
  }

  /// Raw deflate with a full flush before the finish, so the stream ends in a separate empty final
  /// block after the last byte of output (as streaming writers of large members produce).
  static func rawDeflateFlushed(_ data: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&stream) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 64)
    data.withUnsafeBufferPointer { inBuf in
      out.withUnsafeMutableBufferPointer { outBuf in
        stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
        stream.avail_in = UInt32(inBuf.count)
        stream.next_out = outBuf.baseAddress
        stream.avail_out = UInt32(outBuf.count)
        _ = CZlib.deflate(&stream, Z_FULL_FLUSH)
        _ = CZlib.deflate(&stream, Z_FINISH)
      }
    }
    return Array(out.prefix(Int(stream.total_out)))
  }

  static func rawDeflate(_ data: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&stream) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 16)
    data.withUnsafeBufferPointer { inBuf in
      out.withUnsafeMutableBufferPointer { outBuf in
        stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
        stream.avail_in = UInt32(inBuf.count)
        stream.next_out = outBuf.baseAddress
        stream.avail_out = UInt32(outBuf.count)
        _ = CZlib.deflate(&stream, Z_FINISH)
      }
    }
    return Array(out.prefix(Int(stream.total_out)))
  }

  // MARK: - PNG

  /// An 8-bit PNG of colour type 0 (grey), 2 (RGB), 3 (palette; `pixels` are indices), 4 (grey+alpha) or 6 (RGBA).
  static func png(width: Int, height: Int, colorType: UInt8, pixels: [UInt8], palette: [UInt8] = []) -> [UInt8] {
    let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colorType)] ?? 1
    var raw = [UInt8]()
    for y in 0..<height {
      raw.append(0)
      raw += pixels[(y * width * channels)..<((y + 1) * width * channels)]
    }
    var destLen = compressBound(UInt(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(destLen))
    _ = compress2(&compressed, &destLen, raw, UInt(raw.count), 6)
    compressed.removeSubrange(Int(destLen)...)
    let ihdr = PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height)) + [8, colorType, 0, 0, 0]
    var out = PNG.signature + PNG.chunk("IHDR", ihdr)
    if colorType == 3 { out += PNG.chunk("PLTE", palette) }
    return out + PNG.chunk("IDAT", compressed) + PNG.chunk("IEND", [])
  }
}
