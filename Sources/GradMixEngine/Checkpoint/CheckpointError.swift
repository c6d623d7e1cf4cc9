/// Why a checkpoint could not be written or loaded. Every case names the file.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
  case fileNotFound(path: String)
  case unreadable(path: String, reason: String)
  case truncated(path: String, detail: String)
  case malformed(path: String, detail: String)
  case specMismatch(path: String, found: String, expected: String)
  case missingTensor(path: String, name: String)
  case shapeMismatch(path: String, tensor: String, found: [Int], expected: [Int])
  case checksumMismatch(path: String, stored: UInt32, computed: UInt32)
  case writeFailed(path: String, reason: String)
  /// A weights file (`model.init`) that is not in the safetensors format.
  case notSafeTensors(path: String, detail: String)
  /// A weights file tensor the model has no place for.
  case unexpectedTensor(path: String, name: String, shape: [Int], expected: String)
  /// A tensor the model needs that a weights file lacks.
  case missingWeights(path: String, name: String, expected: [Int])

  public var description: String {
    switch self {
    case .fileNotFound(let p): return "\(p): checkpoint file not found"
    case .unreadable(let p, let r): return "\(p): cannot read checkpoint: \(r)"
    case .truncated(let p, let d): return "\(p): checkpoint is truncated: \(d)"
    case .malformed(let p, let d): return "\(p): not a valid checkpoint: \(d)"
    case .specMismatch(let p, let f, let e): return "\(p): checkpoint is for model '\(f)', but the model is '\(e)'"
    case .missingTensor(let p, let n): return "\(p): checkpoint has no tensor '\(n)'"
    case .shapeMismatch(let p, let t, let f, let e): return "\(p): tensor '\(t)' has shape \(f), the model needs \(e)"
    case .checksumMismatch(let p, let s, let c):
      return
        "\(p): checksum mismatch (sidecar says CRC-32 \(String(s, radix: 16)), file has \(String(c, radix: 16))): the file is corrupted"
    // Any file written through AtomicFile (config.yaml, summary.json, ...), not only checkpoints: the path says which.
    case .writeFailed(let p, let r): return "\(p): cannot write: \(r)"
    case .notSafeTensors(let p, let d): return "\(p): not a safetensors file: \(d)"
    case .unexpectedTensor(let p, let n, let s, let e):
      return "\(p): tensor '\(n)' (shape \(s)) is not a tensor of the model (it has \(e))"
    case .missingWeights(let p, let n, let e):
      return "\(p): has no tensor '\(n)' (the model needs it with shape \(e))"
    }
  }
}
