/// One step of a domain's transform chain, as written in config.
///
/// In YAML a step is a mapping whose `op` names the transform and whose
/// other keys are its numeric parameters, e.g. `{op: rotate, degrees: 15}`;
/// a bare string (`- invert`) is a step without parameters. The ops and their
/// parameters are listed in ``ImageTransform``.
public struct TransformSpec: Codable, Equatable, Sendable {
  public var op: String
  public var params: [String: Double]

  public init(op: String, params: [String: Double] = [:]) {
    self.op = op
    self.params = params
  }

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: Decoder) throws {
    if let op = try? decoder.singleValueContainer().decode(String.self) {
      self.init(op: op)
      return
    }
    let c = try decoder.container(keyedBy: Key.self)
    let op = try c.decode(String.self, forKey: Key(stringValue: "op"))
    var params = [String: Double]()
    for key in c.allKeys where key.stringValue != "op" {
      params[key.stringValue] = try c.decode(Double.self, forKey: key)
    }
    self.init(op: op, params: params)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(op, forKey: Key(stringValue: "op"))
    for (k, v) in params.sorted(by: { $0.key < $1.key }) { try c.encode(v, forKey: Key(stringValue: k)) }
  }
}

/// A domain: a base dataset plus a chain of transforms.
///
/// `base` is a raw dataset name (`mnist`, `uci`, `syndigits`, `fashion`),
/// the name of another domain, whose output the transforms then start from,
/// or (``dataset`` set, `base` its summary) a dataset on disk.
public struct DomainSpec: Codable, Equatable, Sendable {
  public var base: String
  public var transforms: [TransformSpec]
  /// A dataset on disk (`base: {format: ..., path: ...}` in YAML).
  public var dataset: DiskDataset?

  public init(base: String, transforms: [TransformSpec] = []) {
    self.base = base
    self.transforms = transforms
  }

  /// A domain on a dataset on disk.
  public init(dataset: DiskDataset, transforms: [TransformSpec] = []) {
    self.base = dataset.summary
    self.transforms = transforms
    self.dataset = dataset
  }

  enum CodingKeys: String, CodingKey { case base, transforms, dataset }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    base = try c.decode(String.self, forKey: .base)
    transforms = try c.decodeIfPresent([TransformSpec].self, forKey: .transforms) ?? []
    dataset = try c.decodeIfPresent(DiskDataset.self, forKey: .dataset)
  }
}

/// Which part of a dataset to build.
///
/// `mnist`, `fashion` and `syndigits` have their own train and test files.
/// `uci` is one file, partitioned 80/20 by a fixed rule that does not depend
/// on any seed: within each class, in file order, every fifth image (the 5th,
/// 10th, ...) is `test` and the others are `train`. The MNIST 5,000-image
/// fallback subset is partitioned the same way.
public enum Split: String, Codable, Sendable, CaseIterable {
  case train, test
}
