import CPNG
import CTurboJPEG
import Foundation

/// Decodes PNG (libpng) and JPEG (libjpeg-turbo's TurboJPEG) files to 8-bit
/// grey or RGB pixels; the format is taken from the content, not the name.
///
/// PNG goes through libpng's simplified API (`png_image_*`), which reads
/// grey, grey+alpha, RGB, RGBA, palette and 16-bit files; colour files come
/// out RGB and grey files grey. Choice: alpha is composited onto black (the
/// simplified API's behaviour with no background given). JPEG comes out grey
/// for greyscale files and RGB otherwise, with the accurate DCT; any libjpeg
/// warning (e.g. a truncated file) is an error, so damaged files never train
/// as grey padding. The header's size is checked against `maxBytes` before the
/// pixel buffer is allocated.
enum ImageDecoder {
  /// Decodes one file's bytes.
  ///
  /// - Parameters:
  ///   - bytes: the whole file.
  ///   - path: the file, for errors.
  ///   - maxBytes: the largest decoded size accepted.
  /// - Returns: the image, 1 (grey) or 3 (RGB) channels.
  /// - Throws: ``DataError/badFormat(path:detail:)`` for anything else or a damaged file.
  static func decode(_ bytes: [UInt8], path: String, maxBytes: Int) throws -> WorkImage {
    if bytes.count >= 8 && Array(bytes[0..<8]) == PNG.signature {
      return try png(bytes, path: path, maxBytes: maxBytes)
    }
    if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
      return try jpeg(bytes, path: path, maxBytes: maxBytes)
    }
    throw DataError.badFormat(path: path, detail: "not a PNG or JPEG file (unknown signature)")
  }

  static func png(_ bytes: [UInt8], path: String, maxBytes: Int) throws -> WorkImage {
    try checkChunkLengths(bytes, path: path)
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    func message() -> String {
      withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
    guard begun != 0 else { throw DataError.badFormat(path: path, detail: "bad PNG: \(message())") }
    defer { png_image_free(&image) }
    let color = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
    let channels = color ? 3 : 1
    image.format = color ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
    let w = Int(image.width), h = Int(image.height)
    guard let n = DataMemory.product([w, h, channels]), n > 0, n <= maxBytes else {
      throw DataError.badFormat(path: path, detail: "PNG of \(w)x\(h) pixels is larger than \(maxBytes) bytes allowed")
    }
    var px = [UInt8](repeating: 0, count: n)
    let done = px.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard done != 0 else { throw DataError.badFormat(path: path, detail: "bad PNG: \(message())") }
    return WorkImage(height: h, width: w, channels: channels, px: px)
  }

  static func jpeg(_ bytes: [UInt8], path: String, maxBytes: Int) throws -> WorkImage {
    guard let handle = tjInitDecompress() else {
      throw DataError.badFormat(path: path, detail: "cannot initialise libturbojpeg")
    }
    defer { tjDestroy(handle) }
    func message() -> String { tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error" }
    var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
    let headerOK = bytes.withUnsafeBufferPointer {
      tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &w, &h, &subsamp, &colorspace)
    }
    guard headerOK == 0 else { throw DataError.badFormat(path: path, detail: "bad JPEG: \(message())") }
    let grey = colorspace == Int32(TJCS_GRAY.rawValue)
    let channels = grey ? 1 : 3
    guard let n = DataMemory.product([Int(w), Int(h), channels]), n > 0, n <= maxBytes else {
      throw DataError.badFormat(path: path, detail: "JPEG of \(w)x\(h) pixels is larger than \(maxBytes) bytes allowed")
    }
    var px = [UInt8](repeating: 0, count: n)
    let format = grey ? TJPF_GRAY : TJPF_RGB
    let flags = Int32(TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING)
    let status = bytes.withUnsafeBufferPointer { src in
      px.withUnsafeMutableBufferPointer { dst in
        tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, w, 0, h, format.rawValue, flags)
      }
    }
    guard status == 0 else { throw DataError.badFormat(path: path, detail: "bad JPEG: \(message())") }
    return WorkImage(height: Int(h), width: Int(w), channels: channels, px: px)
  }

  /// Walks the PNG's chunks (length, type, data, CRC) and throws if one claims
  /// more bytes than the file holds after it: libpng allocates a chunk's
  /// claimed length before reading it (a 1 KB file whose tEXt chunk claimed
  /// 0x7ffffff0 bytes reached 2.1 GB, issue #28). A file that ends before IEND
  /// is left to libpng (it reports the truncation).
  static func checkChunkLengths(_ bytes: [UInt8], path: String) throws {
    var o = 8
    while o + 8 <= bytes.count {
      let length = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
      let type = String(decoding: bytes[(o + 4)..<(o + 8)], as: UTF8.self)
      guard length <= bytes.count - o - 12 else {
        throw DataError.badFormat(
          path: path,
          detail:
            "bad PNG: chunk '\(type)' at byte \(o) claims \(length) bytes, more than the \(bytes.count)-byte file holds"
        )
      }
      if type == "IEND" { return }
      o += 12 + length
    }
  }
}
