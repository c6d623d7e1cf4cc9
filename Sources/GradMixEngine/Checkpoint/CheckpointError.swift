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
    }
  }
}
