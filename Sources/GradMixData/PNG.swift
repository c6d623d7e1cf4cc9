import CZlib
import Foundation

/// Writes 8-bit RGB PNG files (for looking at domains), with zlib from CZlib.
public enum PNG {
  /// The eight bytes every PNG file starts with.
  public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

  /// Writes an RGB image atomically.
  ///
  /// - Parameters:
  ///   - path: the file to write (replaced if it exists).
  ///   - width: pixels per row.
  ///   - height: rows.
  ///   - rgb: `height * width * 3` values, rows top to bottom.
  /// - Throws: ``DataError/writeFailed(path:reason:)``.
  public static func write(_ path: String, width: Int, height: Int, rgb: [UInt8]) throws {
    try writeAtomically(Data(try encode(width: width, height: height, rgb: rgb, path: path)), to: path)
  }

  /// The bytes of the PNG file.
  static func encode(width: Int, height: Int, rgb: [UInt8], path: String) throws -> [UInt8] {
    precondition(
      width > 0 && height > 0 && rgb.count == width * height * 3,
      "A \(width)x\(height) RGB image needs \(width * height * 3) values, got \(rgb.count).")
    // Each row: filter type 0 (none), then the row's bytes.
    var raw = [UInt8]()
    raw.reserveCapacity(height * (width * 3 + 1))
    for y in 0..<height {
      raw.append(0)
      raw += rgb[(y * width * 3)..<((y + 1) * width * 3)]
    }
    var destLen = compressBound(UInt(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(destLen))
    let status = compress2(&compressed, &destLen, raw, UInt(raw.count), 9)
    guard status == Z_OK else { throw DataError.writeFailed(path: path, reason: "zlib compress2 failed (\(status))") }
    compressed.removeSubrange(Int(destLen)...)

    var ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
    ihdr += [8, 2, 0, 0, 0]  // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
    return signature + chunk("IHDR", ihdr) + chunk("IDAT", compressed) + chunk("IEND", [])
  }

  /// Length, type, data, CRC-32 of type and data.
  static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typeBytes = Array(type.utf8)
    let body = typeBytes + data
    let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
  }
}
