import Foundation

/// Starting weights from a safetensors file with the engine's PyTorch-style
/// names (`conv1.weight`, `bn1.running_mean`, `res1.conv2.weight`, ...):
/// a run's `final.safetensors` or checkpoint, or what
/// `scripts/reference/import_torch.py` writes from a PyTorch `state_dict`
/// (`model.init`).
///
/// Strict: every parameter and BatchNorm running statistic of the model
/// must be in the file as F32 with the model's shape, and every tensor of the
/// file must be one of the model's, except
/// - the tensors of the layers in `skip` (`model.init_skip`), which keep
///   their random initialisation whatever the file holds for them (a new
///   head with another number of classes), and
/// - `optimizer.velocity.*` (a checkpoint's SGD state), which is ignored:
///   a transfer starts with zero velocity.
///
/// The file is read once, whole; its header is validated by
/// ``SafeTensors/decode(_:path:)`` (every tensor's size bounded by the file
/// size, so no allocation exceeds the file). Nothing is written into the
/// buffers unless the whole file passes.
public enum PretrainedWeights {
  /// What a load did.
  public struct Report: Equatable, Sendable {
    /// SHA-256 (hex) of the whole file, for provenance.
    public let sha256: String
    /// Number of tensors copied from the file.
    public let tensorsLoaded: Int
    /// Names of the layers left at their random initialisation.
    public let skippedLayers: [String]
  }

  /// Loads `path` into `parameters` (laid out by `model.layout`) and
  /// `state` (by `model.stateLayout`), leaving the layers in `skip`
  /// (indices into `model.layout.layerNames`) untouched.
  /// - Throws: ``CheckpointError`` naming the file, the tensor and both shapes.
  public static func load(
    from path: String, model: Sequential, parameters: FlatBuffer, state: FlatBuffer, skip: Set<Int> = []
  ) throws -> Report {
    precondition(parameters.count == model.layout.count && state.count == model.stateLayout.count)
    let file = try Checkpoint.readFile(path)
    // A safetensors header is JSON, so its first byte (after the 8-byte length) is '{'.
    if file.count < 9 || file[file.startIndex + 8] != UInt8(ascii: "{") {
      let zip = file.count >= 2 && file[file.startIndex] == 0x50 && file[file.startIndex + 1] == 0x4B
      throw CheckpointError.notSafeTensors(
        path: path,
        detail: zip
          ? "it is a zip archive (a PyTorch .pt/.pth?); convert it with scripts/reference/import_torch.py"
          : "no JSON header after the 8-byte length (\(file.count) bytes)")
    }
    let tensors = try SafeTensors.decode(file, path: path)
    let targets = destinations(model: model)
    let names = targets.map(\.name)
    // Every tensor of the file must belong to the model.
    for (name, info) in tensors.sorted(by: { $0.key < $1.key }) where !name.hasPrefix("optimizer.velocity.") {
      guard targets.contains(where: { $0.name == name }) else {
        throw CheckpointError.unexpectedTensor(
          path: path, name: name, shape: info.shape, expected: summary(names))
      }
    }
    // Every tensor the model needs (outside skipped layers) must be there, F32, with its shape.
    var copies: [(SafeTensors.TensorInfo, UnsafeMutableBufferPointer<Float>)] = []
    for t in targets where !skip.contains(t.layer) {
      guard let info = tensors[t.name] else {
        throw CheckpointError.missingWeights(path: path, name: t.name, expected: t.shape)
      }
      guard info.shape == t.shape else {
        throw CheckpointError.shapeMismatch(path: path, tensor: t.name, found: info.shape, expected: t.shape)
      }
      copies.append((info, (t.isState ? state : parameters).slice(t.range)))
    }
    for (info, dst) in copies { SafeTensors.copyFloats(from: file, info: info, into: dst) }
    return Report(
      sha256: SHA256.hex(file), tensorsLoaded: copies.count,
      skippedLayers: skip.sorted().map { model.layout.layerNames[$0] })
  }

  /// Every tensor of the model (parameters, then running statistics) with
  /// the parameterised layer it belongs to. A running statistic belongs to
  /// the layer of the BatchNorm module's parameters (`bn1.running_mean`
  /// with `bn1.weight`, so with `conv1` when that bn follows conv1).
  static func destinations(model: Sequential) -> [(
    name: String, shape: [Int], range: Range<Int>, layer: Int, isState: Bool
  )] {
    var result = model.layout.entries.map {
      (name: $0.name, shape: $0.shape, range: $0.range, layer: $0.layer, isState: false)
    }
    var layerOfModule: [String: Int] = [:]
    for e in model.layout.entries { layerOfModule[module(of: e.name)] = e.layer }
    for e in model.stateLayout.entries {
      guard let l = layerOfModule[module(of: e.name)] else {
        preconditionFailure("BatchNorm state '\(e.name)' has no parameters in the layout.")
      }
      result.append((name: e.name, shape: e.shape, range: e.range, layer: l, isState: true))
    }
    return result
  }

  /// `res1.bn2` for `res1.bn2.running_mean`.
  static func module(of name: String) -> String {
    guard let dot = name.lastIndex(of: ".") else { return name }
    return String(name[..<dot])
  }

  private static func summary(_ names: [String]) -> String {
    names.count <= 12
      ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", ... (\(names.count) tensors)"
  }
}
