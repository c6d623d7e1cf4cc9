import Foundation
import GradMixEngine

extension DomainCatalog {
  // MARK: - Build

  /// Builds a domain's split reproducibly: the same (name, split, seed) gives the same bytes.
  ///
  /// - Parameters:
  ///   - name: a domain name (see ``names``).
  ///   - split: which part of the raw dataset to start from.
  ///   - seed: seeds every random transform.
  /// - Returns: uint8 images of ``sampleShape`` (or feature vectors `[D]`) with their
  ///   (possibly transformed) labels.
  /// - Throws: ``DataError/unknownDomain(name:known:)`` and the file errors of the raw
  ///   dataset and, for `blend-photo`, of the photos.
  public func build(_ name: String, split: Split, seed: UInt64) throws -> ImageSet {
    try build(name, split: split, seed: seed, indices: nil)
  }

  /// Builds only the images at `indices` of the raw split (in that order).
  ///
  /// Image `i` gets exactly the bytes it gets in the full build, so building a
  /// subset equals building everything and then taking ``ImageSet/subset(_:)``.
  ///
  /// - Throws: as ``build(_:split:seed:)``, and ``DataError/notEnoughSamples(what:needed:available:)``
  ///   if an index is outside the raw split.
  public func build(_ name: String, split: Split, seed: UInt64, indices: [Int]?) throws -> ImageSet {
    guard let chain = chains[name] else { throw DataError.unknownDomain(name: name, known: names) }
    let base: ImageSet
    switch chain.base {
    case .raw(let raw): base = try raw.load(split: split, root: dataRoot)
    case .disk(let disk): base = try disk.load(split: split, shape: sampleShape)
    }
    if base.isFeatures { return try featureDomain(name, base, chain: chain, split: split, indices: indices) }
    guard sampleShape.count == 3 else {
      throw DataError.shapeMismatch(
        what: "domain \(name)", data: "images [\(base.channels), \(base.height), \(base.width)]", model: sampleShape)
    }
    // Already fitted: an image folder, or 28x28x3 data.
    if chain.steps.isEmpty && base.sampleShape.dims == sampleShape {
      guard let indices else { return base }
      if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
        throw DataError.notEnoughSamples(
          what: "domain \(name) (\(split.rawValue)): image index \(bad)", needed: bad + 1, available: base.count)
      }
      return base.subset(indices)
    }
    let photos = chain.steps.contains { $0.transform?.needsPhotos ?? false } ? try PhotoBank(root: dataRoot) : nil
    let order = indices ?? Array(0..<base.count)
    if let bad = order.first(where: { $0 < 0 || $0 >= base.count }) {
      throw DataError.notEnoughSamples(
        what: "domain \(name) (\(split.rawValue)): image index \(bad)",
        needed: bad + 1, available: base.count)
    }
    let (channels, height, width) = (sampleShape[0], sampleShape[1], sampleShape[2])
    let size = channels * height * width
    try DataMemory.check(
      order.count * size, what: "domain \(name) (\(split.rawValue)): \(order.count) images of \(sampleShape)")
    var pixels = [UInt8](repeating: 0, count: order.count * size)
    var labels = [Int32](repeating: 0, count: order.count)
    let splitCode: UInt64 = split == .train ? 0 : 1
    let domainHashes = chain.steps.map { SeedMix.hash($0.domain) }

    // Images are independent, so chunks run in parallel; each image's bytes depend only on its index.
    let chunks = min(max(1, order.count / 512), 64)
    let failures = FailureBox()
    pixels.withUnsafeMutableBufferPointer { pxBuf in
      labels.withUnsafeMutableBufferPointer { lbBuf in
        nonisolated(unsafe) let px = pxBuf, lb = lbBuf
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
          let lo = order.count * chunk / chunks, hi = order.count * (chunk + 1) / chunks
          do {
            for k in lo..<hi {
              let i = order[k]
              var img = WorkImage(
                height: base.height, width: base.width, channels: base.channels, px: Array(base.image(i)))
              var label = base.labels[i]
              for (s, step) in chain.steps.enumerated() {
                guard let t = step.transform else { img = normalised(img); continue }
                var rng = RNG(seed: SeedMix.combine(seed, domainHashes[s], splitCode, UInt64(step.position), UInt64(i)))
                try t.apply(&img, label: &label, rng: &rng, photos: photos)
              }
              img = normalised(img)
              for j in 0..<size { px[k * size + j] = img.px[j] }
              lb[k] = label
            }
          } catch {
            failures.record(chunk, error)
          }
        }
      }
    }
    if let error = failures.first { throw error }
    return ImageSet(height: height, width: width, channels: channels, pixels: pixels, labels: labels)
  }

  /// The image converted to ``sampleShape``'s channels and fitted to its size
  /// (the cheaper order: fewer channels first when reducing, after when replicating).
  func normalised(_ img: WorkImage) -> WorkImage {
    let (c, h, w) = (sampleShape[0], sampleShape[1], sampleShape[2])
    if c < img.channels { return img.converted(channels: c).fitted(height: h, width: w) }
    return img.fitted(height: h, width: w).converted(channels: c)
  }

  /// A domain of feature vectors: no transforms, and `[D]` must be ``sampleShape``.
  func featureDomain(_ name: String, _ base: ImageSet, chain: Chain, split: Split, indices: [Int]?) throws -> ImageSet {
    if let step = chain.steps.first(where: { $0.transform != nil }) {
      throw DataError.badConfig(
        field: "domains.\(step.domain).transforms",
        detail: "transforms apply to images; this domain holds feature vectors")
    }
    guard sampleShape == [base.channels] else {
      throw DataError.shapeMismatch(
        what: "domain \(name)", data: "feature vectors [\(base.channels)]", model: sampleShape)
    }
    guard let indices else { return base }
    if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
      throw DataError.notEnoughSamples(
        what: "domain \(name) (\(split.rawValue)): sample index \(bad)", needed: bad + 1, available: base.count)
    }
    return base.subset(indices)
  }
}

/// Collects errors thrown by parallel chunks; the lowest chunk's error wins, so it is deterministic.
final class FailureBox: @unchecked Sendable {
  private var errors = [Int: Error]()
  private let lock = NSLock()

  func record(_ chunk: Int, _ error: Error) {
    lock.withLock { errors[chunk] = error }
  }

  var first: Error? { lock.withLock { errors.keys.min().flatMap { errors[$0] } } }
}
