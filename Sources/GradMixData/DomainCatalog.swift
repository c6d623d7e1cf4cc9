import Foundation
import GradMixEngine

/// The domains a run can use: the predefined digits-benchmark domains plus
/// any a config defines, validated eagerly and built reproducibly.
///
/// A domain is a base plus a chain of ``TransformSpec`` steps. The base is a
/// raw dataset (``RawDataset``), a dataset on disk (``DiskDataset``) or another
/// domain; in the last case the steps start from that domain's output. Every
/// built image domain has the catalog's ``sampleShape`` (`model.input`,
/// `[C, H, W]` with C 1 or 3; default `[3, 28, 28]`) in uint8: after the
/// chain, images are converted to C channels (grey replicated to RGB, RGB to
/// ITU-R 601 luma) and fitted to HxW (``WorkImage/fitted(height:width:)``:
/// area averaging when shrinking, bilinear otherwise). A feature-vector domain
/// (an `.npz` with `x` of shape `[N, D]`) needs `sampleShape == [D]` and no
/// transforms.
///
/// Reproducibility: image `i` of a split gets, for each step, its own RNG
/// seeded from (seed, domain name, split, step position, i). So the same
/// (name, split, seed) always gives the same bytes, an image's bytes do not
/// depend on which other images are built (see ``build(_:split:seed:indices:)``),
/// and train and test images draw different randomness (e.g. photo crops).
public struct DomainCatalog: Sendable {
  /// The side of every built image of the default shape.
  public static let outputSide = 28
  /// The default sample shape, the digits benchmark's `[3, 28, 28]`.
  public static let defaultSampleShape = [3, outputSide, outputSide]

  /// `mnist`, `uci`, `syndigits`, `fashion` (raw, as RGB) and `mnist-m` (mnist + blend-photo).
  public static let predefined: [String: DomainSpec] = [
    "mnist": DomainSpec(base: "mnist"),
    "uci": DomainSpec(base: "uci"),
    "syndigits": DomainSpec(base: "syndigits"),
    "fashion": DomainSpec(base: "fashion"),
    "mnist-m": DomainSpec(base: "mnist", transforms: [TransformSpec(op: "blend-photo")]),
  ]

  /// The default data root: `$GRADMIX_DATA`, or `./data/raw`.
  public static var defaultDataRoot: String {
    ProcessInfo.processInfo.environment["GRADMIX_DATA"].flatMap { $0.isEmpty ? nil : $0 } ?? "data/raw"
  }

  /// One resolved step: a transform of `domain` at `position` in its chain,
  /// or (transform nil) the 28x28x3 normalisation that ends a base domain.
  struct Step: Sendable {
    let domain: String
    let position: Int
    let transform: ImageTransform?
  }

  /// Where a chain's images come from.
  enum Base: Sendable {
    case raw(RawDataset)
    case disk(DiskDataset)
  }

  struct Chain: Sendable {
    let base: Base
    let steps: [Step]
  }

  public let dataRoot: String
  /// The shape of every built sample: `[C, H, W]` (C 1 or 3) or `[D]`.
  public let sampleShape: [Int]
  /// Every domain by name, predefined and custom.
  public let specs: [String: DomainSpec]
  let chains: [String: Chain]

  /// Validates the custom domains and resolves every chain; no data is read.
  ///
  /// - Parameters:
  ///   - dataRoot: the folder holding `mnist/`, `uci/`, `photos/`, ...
  ///   - custom: domains from a config (see ``parseDomains(yaml:file:)``).
  ///   - sampleShape: `model.input`, the shape of every built sample.
  /// - Throws: ``DataError/badConfig(field:detail:)`` naming `model.input` for a
  ///   shape other than `[C, H, W]` with C 1 or 3 or `[D]`, `domains.<name>`,
  ///   `domains.<name>.base` or `domains.<name>.transforms[i].<op or param>` for a bad
  ///   name, a redefined predefined domain, an unknown base, a cycle, an unknown
  ///   op, or an unknown, missing or out-of-range parameter.
  public init(dataRoot: String, custom: [String: DomainSpec] = [:], sampleShape: [Int] = defaultSampleShape) throws {
    self.dataRoot = dataRoot
    let s = sampleShape
    guard
      (s.count == 3 && (s[0] == 1 || s[0] == 3) && s[1] > 0 && s[2] > 0 && s[1] <= 4096 && s[2] <= 4096)
        || (s.count == 1 && s[0] > 0)
    else {
      throw DataError.badConfig(
        field: "model.input",
        detail: "must be [C, H, W] with C 1 or 3 and H, W in 1...4096, or [D] for feature vectors, got \(s)")
    }
    self.sampleShape = sampleShape
    for name in custom.keys.sorted() {
      let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
      guard !name.isEmpty, name.allSatisfy({ allowed.contains($0) }) else {
        throw DataError.badConfig(
          field: "domains.\(name)", detail: "a domain name uses only letters, digits, '-', '_' and '.'")
      }
      guard DomainCatalog.predefined[name] == nil else {
        throw DataError.badConfig(
          field: "domains.\(name)", detail: "redefines the predefined domain '\(name)'; choose another name")
      }
    }
    let specs = DomainCatalog.predefined.merging(custom) { p, _ in p }
    var transforms = [String: [ImageTransform]]()
    for name in specs.keys.sorted() {
      guard let spec = specs[name] else { continue }
      if spec.dataset == nil && RawDataset(rawValue: spec.base) == nil && specs[spec.base] == nil {
        throw DataError.badConfig(
          field: "domains.\(name).base",
          detail:
            "unknown base '\(spec.base)'; a base is a raw dataset (\(RawDataset.names.joined(separator: ", "))), a domain, or {format: imagefolder|npz|idx, ...}"
        )
      }
      transforms[name] = try spec.transforms.enumerated().map { i, t in
        try ImageTransform(t, field: "domains.\(name).transforms[\(i)]")
      }
    }
    var chains = [String: Chain]()
    func resolve(_ name: String, _ path: [String]) throws -> Chain {
      if let c = chains[name] { return c }
      guard let spec = specs[name] else { preconditionFailure("Domain '\(name)' was validated above.") }
      guard !path.contains(name) else {
        let cycle = (path.drop(while: { $0 != name }) + [name]).joined(separator: " -> ")
        throw DataError.badConfig(field: "domains.\(path.last ?? name).base", detail: "domains form a cycle: \(cycle)")
      }
      let own = (transforms[name] ?? []).enumerated().map { Step(domain: name, position: $0, transform: $1) }
      let chain: Chain
      if let disk = spec.dataset {
        chain = Chain(base: .disk(disk), steps: own)
      } else if let raw = RawDataset(rawValue: spec.base) {
        chain = Chain(base: .raw(raw), steps: own)
      } else {
        let parent = try resolve(spec.base, path + [name])
        let end = Step(domain: spec.base, position: -1, transform: nil)
        chain = Chain(base: parent.base, steps: parent.steps + [end] + own)
      }
      chains[name] = chain
      return chain
    }
    for name in specs.keys.sorted() { _ = try resolve(name, []) }
    self.specs = specs
    self.chains = chains
  }

  /// All domain names, sorted.
  public var names: [String] { specs.keys.sorted() }

  /// The raw dataset a domain starts from.
  ///
  /// - Throws: ``DataError/unknownDomain(name:known:)``, or ``DataError/badConfig(field:detail:)``
  ///   for a domain on a dataset on disk.
  public func rawBase(of name: String) throws -> RawDataset {
    guard let c = chains[name] else { throw DataError.unknownDomain(name: name, known: names) }
    guard case .raw(let raw) = c.base else {
      throw DataError.badConfig(field: "domains.\(name).base", detail: "is a dataset on disk, not a raw dataset")
    }
    return raw
  }

  /// The class names of a domain on an image folder (its sorted class folders); nil otherwise.
  public func classNames(of name: String) throws -> [String]? {
    guard let c = chains[name] else { throw DataError.unknownDomain(name: name, known: names) }
    guard case .disk(let d) = c.base else { return nil }
    return try d.classNames()
  }
}
