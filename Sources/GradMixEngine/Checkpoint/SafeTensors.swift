import Foundation

/// The safetensors file format (huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of JSON
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the tensor bytes (little-endian), offsets relative to the data start,
/// contiguous and covering the whole data section.
public enum SafeTensors {
  public struct TensorInfo: Equatable {
    public let dtype: String
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int, end: Int
    /// Absolute offset of the data section in the file.
    public let dataStart: Int
  }

  /// Encodes tensors in the given order.
  static func encode(
    _ tensors: [(String, [Int], UnsafeMutableBufferPointer<Float>)], metadata: [String: String]
  ) throws -> Data {
    var header: [String: Any] = ["__metadata__": metadata]
    var offset = 0
    for (name, shape, values) in tensors {
      let bytes = values.count * 4
      header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
      offset += bytes
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces, as the reference writer does
    var file = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    for (_, _, values) in tensors {
      #if _endian(big)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { file.append(contentsOf: $0) } }
      #else
        file.append(UnsafeBufferPointer(values))
      #endif
    }
    return file
  }

  /// Parses and validates the header of `file`.
  /// - Throws: ``CheckpointError/truncated(path:detail:)`` or
  ///   ``CheckpointError/malformed(path:detail:)``.
  public static func decode(_ file: Data, path: String) throws -> [String: TensorInfo] {
    guard file.count >= 8 else {
      throw CheckpointError.truncated(path: path, detail: "\(file.count) bytes, shorter than the 8-byte header length")
    }
    let n = file.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    guard n <= UInt64(file.count - 8) else {
      throw CheckpointError.truncated(
        path: path, detail: "the header claims \(n) bytes but only \(file.count - 8) follow")
    }
    let headerEnd = 8 + Int(n)
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<headerEnd))
    } catch {
      throw CheckpointError.malformed(path: path, detail: "the header is not JSON")
    }
    guard let header = object as? [String: Any] else {
      throw CheckpointError.malformed(path: path, detail: "the header is not a JSON object")
    }
    var result: [String: TensorInfo] = [:]
    for (name, value) in header where name != "__metadata__" {
      guard let t = value as? [String: Any], let dtype = t["dtype"] as? String,
        let shape = (t["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
        let offsets = (t["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
        offsets.count == 2, shape.count == (t["shape"] as? [Any])?.count
      else { throw CheckpointError.malformed(path: path, detail: "tensor '\(name)' has a bad header entry") }
      guard dtype == "F32" else {
        throw CheckpointError.malformed(path: path, detail: "tensor '\(name)' has dtype \(dtype), expected F32")
      }
      // Choice: the element count is bounded by the file size before it is used, so a hostile
      // header (huge dimensions) can neither overflow nor make a reader allocate more than the file.
      var elements = 1, overflow = false
      for d in shape where !overflow {
        (elements, overflow) = elements.multipliedReportingOverflow(by: max(d, 0))
        overflow = overflow || elements > file.count
      }
      guard !overflow, shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0],
        offsets[1] - offsets[0] == elements * 4
      else {
        throw CheckpointError.malformed(
          path: path, detail: "tensor '\(name)' has offsets \(offsets) that do not match its shape \(shape)")
      }
      result[name] = TensorInfo(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1], dataStart: headerEnd)
    }
    // Contiguous, non-overlapping and covering the data section exactly.
    let dataLength = file.count - headerEnd
    var expected = 0
    for info in result.values.sorted(by: { $0.begin < $1.begin }) {
      guard info.begin == expected else {
        throw CheckpointError.malformed(path: path, detail: "tensor data is not contiguous at byte \(info.begin)")
      }
      expected = info.end
    }
    if expected > dataLength {
      throw CheckpointError.truncated(
        path: path, detail: "the tensors need \(expected) data bytes but the file has \(dataLength)")
    }
    if expected < dataLength {
      throw CheckpointError.malformed(
        path: path, detail: "\(dataLength - expected) trailing bytes after the tensor data")
    }
    return result
  }

  /// Copies a validated F32 tensor out of `file`.
  static func copyFloats(from file: Data, info: TensorInfo, into dst: UnsafeMutableBufferPointer<Float>) {
    precondition(dst.count * 4 == info.end - info.begin, "Tensor size does not match its destination.")
    file.withUnsafeBytes { raw in
      let src = UnsafeRawBufferPointer(rebasing: raw[(info.dataStart + info.begin)..<(info.dataStart + info.end)])
      for i in 0..<dst.count {
        dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
      }
    }
  }
}
