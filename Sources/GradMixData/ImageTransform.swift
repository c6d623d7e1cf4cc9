import GradMixEngine

/// A validated transform of one image (and possibly its label).
///
/// | op               | parameters                                  | effect |
/// |------------------|---------------------------------------------|--------|
/// | `blend-photo`    | none                                        | MNIST-M (Ganin & Lempitsky 2015): out[c] = abs(x[c] − patch[c]), patch a random crop of a random photo |
/// | `invert`         | none                                        | 255 − x |
/// | `colorize`       | `contrast` 0...150 (default 0)              | random fg and bg colours: out = bg + (fg − bg)·grey/255, redrawn until their lumas differ by `contrast` |
/// | `resize`         | `size` integer 1...512 (required)           | bilinear to size x size |
/// | `noise`          | `std` 0...255 (required), in pixel units    | add Gaussian noise, round, clamp to 0...255 |
/// | `rotate`         | `degrees` 0...180 (required)                | rotate by a uniform angle in ±degrees, bilinear, zero fill |
/// | `shuffle-labels` | `classes` integer 1...256 (default 10)      | replace the label by a uniform class in 0..<classes (a pure-noise source) |
/// | `grey`           | none                                        | ITU-R 601 luma in all 3 channels |
///
/// `blend-photo`, `colorize` and `grey` output RGB; the others keep the channel count.
public enum ImageTransform: Equatable, Sendable {
  case blendPhoto
  case invert
  case colorize(contrast: Double)
  case resize(size: Int)
  case noise(std: Double)
  case rotate(degrees: Double)
  case shuffleLabels(classes: Int)
  case grey

  /// A parameter's name, allowed range, whether it must be whole, and its default (nil = required).
  struct Param {
    let name: String
    let range: ClosedRange<Double>
    let integer: Bool
    let defaultValue: Double?
  }

  static let params: [String: [Param]] = [
    "blend-photo": [],
    "invert": [],
    "colorize": [Param(name: "contrast", range: 0...150, integer: false, defaultValue: 0)],
    "resize": [Param(name: "size", range: 1...512, integer: true, defaultValue: nil)],
    "noise": [Param(name: "std", range: 0...255, integer: false, defaultValue: nil)],
    "rotate": [Param(name: "degrees", range: 0...180, integer: false, defaultValue: nil)],
    "shuffle-labels": [Param(name: "classes", range: 1...256, integer: true, defaultValue: 10)],
    "grey": [],
  ]

  /// The names of all transforms.
  public static var known: [String] { params.keys.sorted() }

  /// Validates a config step.
  ///
  /// - Parameters:
  ///   - spec: the op and its parameters.
  ///   - field: the config path of the step (e.g. `domains.foo.transforms[1]`), or nil outside a config.
  /// - Throws: ``DataError/badConfig(field:detail:)`` naming `<field>.op` or `<field>.<param>`
  ///   for an unknown op, an unknown, missing, non-whole or out-of-range parameter;
  ///   without a field, ``DataError/unknownTransform(op:known:)`` for an unknown op.
  public init(_ spec: TransformSpec, field: String? = nil) throws {
    let f = field ?? spec.op
    guard let rules = ImageTransform.params[spec.op] else {
      guard let field else { throw DataError.unknownTransform(op: spec.op, known: ImageTransform.known) }
      throw DataError.badConfig(
        field: field + ".op",
        detail: "unknown transform '\(spec.op)'; known transforms: \(ImageTransform.known.joined(separator: ", "))")
    }
    for name in spec.params.keys.sorted() where !rules.contains(where: { $0.name == name }) {
      let allowed =
        rules.isEmpty
        ? "'\(spec.op)' takes no parameters" : "'\(spec.op)' takes " + rules.map(\.name).joined(separator: ", ")
      throw DataError.badConfig(field: "\(f).\(name)", detail: "unknown parameter; \(allowed)")
    }
    var v = [String: Double]()
    for r in rules {
      guard let x = spec.params[r.name] ?? r.defaultValue else {
        throw DataError.badConfig(field: "\(f).\(r.name)", detail: "required by '\(spec.op)'")
      }
      guard x.isFinite, r.range.contains(x), !r.integer || x == x.rounded() else {
        let kind = r.integer ? "a whole number" : "a number"
        throw DataError.badConfig(
          field: "\(f).\(r.name)",
          detail:
            "\(x) is out of range: must be \(kind) in \(Self.format(r.range.lowerBound))...\(Self.format(r.range.upperBound))"
        )
      }
      v[r.name] = x
    }
    switch spec.op {
    case "blend-photo": self = .blendPhoto
    case "invert": self = .invert
    case "colorize": self = .colorize(contrast: v["contrast", default: 0])
    case "resize": self = .resize(size: Int(v["size", default: 0]))
    case "noise": self = .noise(std: v["std", default: 0])
    case "rotate": self = .rotate(degrees: v["degrees", default: 0])
    case "shuffle-labels": self = .shuffleLabels(classes: Int(v["classes", default: 0]))
    default: self = .grey
    }
  }

  static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

  /// Whether the transform needs the photo bank.
  var needsPhotos: Bool { self == .blendPhoto }

  // MARK: - Apply

  /// Transforms `image` (and `label`) in place, drawing all randomness from `rng`.
  func apply(_ image: inout WorkImage, label: inout Int32, rng: inout RNG, photos: PhotoBank?) throws {
    switch self {
    case .blendPhoto:
      guard let photos else { preconditionFailure("blend-photo needs the photo bank.") }
      image = image.rgb()
      let patch = try photos.crop(height: image.height, width: image.width, rng: &rng)
      for i in image.px.indices {
        image.px[i] = image.px[i] > patch[i] ? image.px[i] - patch[i] : patch[i] - image.px[i]
      }
    case .invert:
      for i in image.px.indices { image.px[i] = 255 - image.px[i] }
    case .colorize(let contrast):
      var fg = [0.0, 0, 0], bg = [0.0, 0, 0]
      for _ in 0..<10_000 {
        for c in 0..<3 { fg[c] = Double(rng.int(below: 256)); bg[c] = Double(rng.int(below: 256)) }
        if abs(WorkImage.luma(fg[0], fg[1], fg[2]) - WorkImage.luma(bg[0], bg[1], bg[2])) >= contrast { break }
      }
      let g = image.luminance()
      var out = [UInt8](repeating: 0, count: g.count * 3)
      for i in g.indices {
        for c in 0..<3 { out[i * 3 + c] = UInt8((bg[c] + (fg[c] - bg[c]) * Double(g[i]) / 255).rounded()) }
      }
      image = WorkImage(height: image.height, width: image.width, channels: 3, px: out)
    case .resize(let size):
      image = image.resized(height: size, width: size)
    case .noise(let std):
      for i in image.px.indices {
        let v = (Double(image.px[i]) + std * Double(rng.normal())).rounded()
        image.px[i] = UInt8(min(255, max(0, v)))
      }
    case .rotate(let degrees):
      let angle = (Double(rng.uniform()) * 2 - 1) * degrees
      image = image.rotated(degrees: angle)
    case .shuffleLabels(let classes):
      label = Int32(rng.int(below: classes))
    case .grey:
      let g = image.luminance()
      var out = [UInt8](repeating: 0, count: g.count * 3)
      for i in g.indices { out[i * 3] = g[i]; out[i * 3 + 1] = g[i]; out[i * 3 + 2] = g[i] }
      image = WorkImage(height: image.height, width: image.width, channels: 3, px: out)
    }
  }
}
