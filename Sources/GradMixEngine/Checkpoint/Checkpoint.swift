import CZlib
import Foundation

/// What a checkpoint's JSON sidecar records besides the tensors.
public struct CheckpointMetadata: Codable, Equatable, Sendable {
  /// The only sidecar format this build reads and writes.
  public static let currentFormatVersion = 1
  public var formatVersion: Int = currentFormatVersion
  /// The model spec and input shape the tensors belong to.
  public var spec: String
  public var inputShape: [Int]
  /// ``ParameterLayout/hash`` in hex.
  public var layoutHash: String
  public var parameterCount: Int
  /// Optimiser steps taken so far.
  public var step: Int
  /// The trainer's random state, restored bit-exactly on resume.
  public var rng: RNG?
  public var optimizer: SGD?
  public var baseLearningRate: Float?
  public var schedule: LearningRateSchedule?
  /// Whether the tensors file holds `optimizer.velocity.*` tensors.
  public var hasVelocity: Bool = false
  /// CRC-32 (zlib's) of the whole `.safetensors` file.
  public var tensorsCRC32: UInt32 = 0
  /// Free-form string fields of the trainer (method, config, ...).
  public var extra: [String: String] = [:]

  public init(
    model: Sequential, step: Int, rng: RNG? = nil, optimizer: SGD? = nil,
    baseLearningRate: Float? = nil, schedule: LearningRateSchedule? = nil, extra: [String: String] = [:]
  ) {
    spec = model.spec
    inputShape = model.inputShape.dims
    layoutHash = String(model.layout.hash, radix: 16)
    parameterCount = model.layout.count
    self.step = step; self.rng = rng; self.optimizer = optimizer
    self.baseLearningRate = baseLearningRate; self.schedule = schedule; self.extra = extra
  }
}

/// Parameters (and optimiser velocity, model state) restored from a checkpoint.
public struct LoadedCheckpoint {
  public let metadata: CheckpointMetadata
  public let parameters: FlatBuffer
  public let velocity: FlatBuffer?
  /// The model state (BatchNorm running statistics), laid out by
  /// `model.stateLayout`; empty for a model without BatchNorm.
  public let state: FlatBuffer
}

/// Checkpoints: a `.safetensors` file with one F32 tensor per parameter,
/// named by layer (`conv1.weight`, `fc2.bias`, ...; PyTorch's layouts, so
/// `safetensors.torch.load_file` gives a state dict), the model state
/// (BatchNorm running statistics) under PyTorch's buffer names
/// (`bn1.running_mean`, `res1.bn2.num_batches_tracked`, ...; F32, the
/// count too) and, when saved, the SGD velocity as
/// `optimizer.velocity.<name>`; plus a JSON sidecar
/// (same name, `.json`) with ``CheckpointMetadata``.
///
/// Both files are written atomically (tensors first, sidecar last, so a
/// sidecar always describes a complete tensors file). A load checks the
/// sidecar's spec, input shape and layout against the model, the CRC-32 of
/// the tensors file, the safetensors header, every tensor's dtype, shape
/// and offsets, and that the data is exactly as long as the header says.
public enum Checkpoint {
  /// The sidecar path for a tensors path: `x.safetensors` -> `x.json`.
  public static func sidecarPath(for path: String) -> String {
    path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) + ".json" : path + ".json"
  }

  /// Saves `parameters`, `state` (required for a model with BatchNorm) and
  /// `velocity` if given, with `metadata`.
  /// - Throws: ``CheckpointError/writeFailed(path:reason:)``.
  public static func save(
    to path: String, model: Sequential, parameters: FlatBuffer, state: FlatBuffer? = nil, velocity: FlatBuffer? = nil,
    metadata: CheckpointMetadata
  ) throws {
    precondition(
      !model.hasState || state?.count == model.stateLayout.count,
      "Model '\(model.spec)' keeps BatchNorm running statistics: save needs its state buffer of \(model.stateLayout.count) floats."
    )
    precondition(
      parameters.count == model.layout.count,
      "The parameter buffer has \(parameters.count) floats, the model \(model.layout.count).")
    if let velocity {
      precondition(velocity.count == model.layout.count, "The velocity buffer has \(velocity.count) floats.")
    }
    var tensors: [(String, [Int], UnsafeMutableBufferPointer<Float>)] = model.layout.entries.map {
      ($0.name, $0.shape, parameters.slice($0.range))
    }
    if let state, model.hasState {
      tensors += model.stateLayout.entries.map { ($0.name, $0.shape, state.slice($0.range)) }
    }
    if let velocity {
      tensors += model.layout.entries.map { ("optimizer.velocity.\($0.name)", $0.shape, velocity.slice($0.range)) }
    }
    let file = try SafeTensors.encode(tensors, metadata: ["format": "pt", "gradmix_spec": model.spec])
    var meta = metadata
    meta.hasVelocity = velocity != nil
    meta.tensorsCRC32 = crc32(file)
    let sidecar = try CheckpointJSON.encoder(pretty: true).encode(meta)
    try AtomicFile.write(file, to: path)
    try AtomicFile.write(sidecar, to: sidecarPath(for: path))
  }

  /// Reads only the sidecar (to learn the spec before building a model).
  public static func readMetadata(at path: String) throws -> CheckpointMetadata {
    let sidecar = sidecarPath(for: path)
    // The tensors file first, so a missing checkpoint is reported under the name the user gave.
    try checkRegularFile(path)
    let data = try readFile(sidecar)
    let meta: CheckpointMetadata
    do {
      meta = try CheckpointJSON.decoder().decode(CheckpointMetadata.self, from: data)
    } catch {
      throw CheckpointError.malformed(
        path: sidecar, detail: "the sidecar is not valid checkpoint JSON (\(shortDescription(error)))")
    }
    guard meta.formatVersion == CheckpointMetadata.currentFormatVersion else {
      throw CheckpointError.malformed(
        path: sidecar,
        detail:
          "formatVersion \(meta.formatVersion) is not supported (this build reads \(CheckpointMetadata.currentFormatVersion))"
      )
    }
    guard meta.step >= 0 else {
      throw CheckpointError.malformed(path: sidecar, detail: "step: \(meta.step) is negative (steps taken cannot be)")
    }
    return meta
  }

  /// Loads a checkpoint for `model`.
  /// - Throws: ``CheckpointError`` naming the file and the fault.
  public static func load(from path: String, for model: Sequential) throws -> LoadedCheckpoint {
    let meta = try readMetadata(at: path)
    guard meta.spec == model.spec, meta.inputShape == model.inputShape.dims else {
      throw CheckpointError.specMismatch(
        path: path, found: "\(meta.spec) on \(meta.inputShape)",
        expected: "\(model.spec) on \(model.inputShape.dims)")
    }
    guard meta.layoutHash == String(model.layout.hash, radix: 16), meta.parameterCount == model.layout.count else {
      throw CheckpointError.specMismatch(
        path: path, found: "layout \(meta.layoutHash) with \(meta.parameterCount) parameters",
        expected: "layout \(String(model.layout.hash, radix: 16)) with \(model.layout.count) parameters")
    }
    let file = try readFile(path)
    let computed = crc32(file)
    let tensors = try SafeTensors.decode(file, path: path)
    guard computed == meta.tensorsCRC32 else {
      throw CheckpointError.checksumMismatch(path: path, stored: meta.tensorsCRC32, computed: computed)
    }
    let parameters = model.makeBuffer()
    try fill(parameters, prefix: "", from: tensors, file: file, layout: model.layout, path: path)
    let state = model.makeState()
    try fill(state, prefix: "", from: tensors, file: file, layout: model.stateLayout, path: path)
    var velocity: FlatBuffer?
    if meta.hasVelocity {
      let v = model.makeBuffer()
      try fill(v, prefix: "optimizer.velocity.", from: tensors, file: file, layout: model.layout, path: path)
      velocity = v
    }
    return LoadedCheckpoint(metadata: meta, parameters: parameters, velocity: velocity, state: state)
  }

  private static func fill(
    _ buffer: FlatBuffer, prefix: String, from tensors: [String: SafeTensors.TensorInfo], file: Data,
    layout: ParameterLayout, path: String
  ) throws {
    for entry in layout.entries {
      let name = prefix + entry.name
      guard let info = tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
      guard info.shape == entry.shape else {
        throw CheckpointError.shapeMismatch(path: path, tensor: name, found: info.shape, expected: entry.shape)
      }
      SafeTensors.copyFloats(from: file, info: info, into: buffer.slice(entry.range))
    }
  }

  /// Throws unless `path` is an existing regular file (following links).
  static func checkRegularFile(_ path: String) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw CheckpointError.fileNotFound(path: path)
    }
    guard !isDir.boolValue else { throw CheckpointError.unreadable(path: path, reason: "it is a directory") }
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    guard (try? FileManager.default.attributesOfItem(atPath: resolved)[.type] as? FileAttributeType) == .typeRegular
    else {
      throw CheckpointError.unreadable(path: path, reason: "not a regular file (a device, pipe or socket?)")
    }
  }

  static func readFile(_ path: String) throws -> Data {
    try checkRegularFile(path)
    do {
      return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw CheckpointError.unreadable(path: path, reason: shortDescription(error))
    }
  }

  /// zlib's CRC-32 of `data` (the same value as Python's `zlib.crc32`).
  public static func crc32(_ data: Data) -> UInt32 {
    data.withUnsafeBytes { raw -> UInt32 in
      var crc: uLong = CZlib.crc32(0, nil, 0)
      var offset = 0
      while offset < raw.count {
        let chunk = min(raw.count - offset, 1 << 30)
        crc = CZlib.crc32(crc, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, uInt(chunk))
        offset += chunk
      }
      return UInt32(truncatingIfNeeded: crc)
    }
  }
}

func shortDescription(_ error: Error) -> String {
  if let e = error as? CheckpointError { return e.description }
  return (error as NSError).localizedDescription
}
