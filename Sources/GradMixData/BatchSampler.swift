import GradMixEngine

/// Draws training batches from an image set with seeded per-epoch shuffling.
///
/// Epoch e visits every image once in an order shuffled by an RNG derived from
/// (seed, e); a batch that runs past the end of an epoch continues with the
/// next epoch's order. Images are converted to float NCHW as
/// `pixel / 255 * 2 − 1` (see ``ImageConversion``). ``state`` and
/// ``restore(_:)`` resume the exact sequence of batches, augmentation included.
///
/// Not thread-safe: use one sampler per source.
public final class BatchSampler {
  public let batchSize: Int
  public let augment: Augmentation
  let images: ImageSet
  var seed: UInt64
  var epoch = 0
  var position = 0
  var order: [Int]
  var rng: RNG

  /// Creates a sampler positioned at the start of epoch 0.
  ///
  /// - Parameters:
  ///   - set: the images (at least one).
  ///   - batchSize: images per batch (positive; may exceed the set size).
  ///   - seed: seeds the epoch orders and the augmentation.
  ///   - augment: optional random translation.
  public init(_ set: ImageSet, batchSize: Int, seed: UInt64, augment: Augmentation = .none) {
    precondition(set.count > 0, "A batch sampler needs at least one image.")
    precondition(batchSize > 0, "The batch size must be positive, got \(batchSize).")
    self.images = set
    self.batchSize = batchSize
    self.seed = seed
    self.augment = augment
    self.order = Array(0..<set.count)
    self.rng = RNG(seed: SeedMix.combine(seed, SeedMix.hash("augment")))
    shuffleEpoch()
  }

  /// Floats in one batch of input: `batchSize * C * H * W`.
  public var inputCount: Int { batchSize * images.imageSize }
  /// One sample's `[C, H, W]`.
  public var sampleShape: Shape { images.sampleShape }
  /// The number of images.
  public var count: Int { images.count }
  /// The bytes its samples and labels take in memory.
  public var memoryBytes: Int { images.memoryBytes }

  /// Fills the next batch.
  ///
  /// - Parameters:
  ///   - input: room for `batchSize * C * H * W` floats, written as `[N, C, H, W]`.
  ///   - labels: room for `batchSize` labels.
  public func next(input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
    let size = images.imageSize
    for b in 0..<batchSize {
      if position == images.count {
        epoch += 1
        position = 0
        shuffleEpoch()
      }
      let i = order[position]
      position += 1
      var dx = 0, dy = 0
      if augment.maxShift > 0 {
        dx = rng.int(below: 2 * augment.maxShift + 1) - augment.maxShift
        dy = rng.int(below: 2 * augment.maxShift + 1) - augment.maxShift
      }
      ImageConversion.writeImage(images, index: i, shiftX: dx, shiftY: dy, into: input + b * size)
      labels[b] = images.labels[i]
    }
  }

  /// Moves to image `n` of the stream of epochs (epoch n / count, position
  /// n mod count), so the next batch starts there; the augmentation stream
  /// goes on where it was.
  public func seek(toImage n: Int) {
    precondition(n >= 0, "A sampler position must not be negative, got \(n).")
    let e = n / images.count
    position = n % images.count
    if e != epoch {
      epoch = e
      shuffleEpoch()
    }
  }

  /// Puts `order` in epoch `epoch`'s permutation (in place, no allocation).
  func shuffleEpoch() {
    for k in order.indices { order[k] = k }
    var r = RNG(seed: SeedMix.combine(seed, SeedMix.hash("epoch"), UInt64(epoch)))
    r.shuffle(&order)
  }

  /// The position in the stream of batches.
  public var state: SamplerState {
    SamplerState(epoch: epoch, position: position, rng: rng, seed: seed, count: images.count, batchSize: batchSize)
  }

  /// Resumes from a saved state, so the following batches equal those after the save.
  ///
  /// - Throws: ``DataError/badState(detail:)`` if the state is for another image count
  ///   or batch size, or its position is out of range.
  public func restore(_ state: SamplerState) throws {
    guard state.count == images.count else {
      throw DataError.badState(detail: "saved for \(state.count) images, this sampler has \(images.count)")
    }
    guard state.batchSize == batchSize else {
      throw DataError.badState(detail: "saved with batch size \(state.batchSize), this sampler uses \(batchSize)")
    }
    guard state.epoch >= 0, (0...images.count).contains(state.position) else {
      throw DataError.badState(detail: "epoch \(state.epoch), position \(state.position) is out of range")
    }
    seed = state.seed
    epoch = state.epoch
    position = state.position
    rng = state.rng
    shuffleEpoch()
  }
}
