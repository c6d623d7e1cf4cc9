import Foundation

/// What loading one split of a domain holds in memory, sized from the files'
/// headers before any body is read (issue #28, row 6).
///
/// Each reader sizes its own format next to itself (`IDX+Footprint.swift`,
/// `ImageFolder+Footprint.swift`, `NPZDataset+Footprint.swift`, ...);
/// ``DomainCatalog/footprint(_:split:)`` adds the conversion to the sample
/// shape, and the trainer sums the splits a run loads (`DataEstimate` in
/// GradMixCore) and refuses the run before loading when the sum and the model
/// do not fit. The readers' own checks (``DataMemory``) stay as a second line.
///
/// Choice: the copies counted are the ones loading really holds at once
/// (measured with `/usr/bin/time -v`, results/reliability.md): the stored
/// bytes and the reader's transient buffers while a file is read, then the
/// stored set and the converted set together while images are converted;
/// counts and shapes come from headers only (an IDX header, an npy header
/// inside the zip's central directory, an image folder's file count, a CSV's
/// size).
public struct DataFootprint: Equatable, Sendable {
  /// The file or folder a refusal names.
  public var what: String
  /// Samples in the split as loaded.
  public var count: Int
  /// What the split holds once built (uint8 samples at the sample shape, or float features).
  public var heldBytes: Double
  /// The most the build holds at once, including ``heldBytes``.
  public var peakBytes: Double

  public init(what: String, count: Int, heldBytes: Double, peakBytes: Double) {
    self.what = what
    self.count = count
    self.heldBytes = heldBytes
    self.peakBytes = max(peakBytes, heldBytes)
  }

  /// The footprint of a base read as `count` samples of `sampleBytes` stored bytes each,
  /// with `readExtra` bytes of transient buffers on top while the file is read.
  static func base(what: String, count: Int, sampleBytes: Int, readExtra: Double) -> DataFootprint {
    // Labels: the file's bytes and the Int32 array.
    let held = Double(count) * Double(sampleBytes) + 4 * Double(count)
    return DataFootprint(what: what, count: count, heldBytes: held, peakBytes: held + readExtra + Double(count))
  }

  /// This base after the fixed 80/20 partition (``RawDataset/fixedPartition(_:split:)``),
  /// whose subset is copied while the whole is still held. Every fifth image of each of
  /// at most `classes` classes is test, so train keeps at most `0.8 n + classes` images.
  func partitioned(_ split: Split, classes: Int) -> DataFootprint {
    let n = Double(count)
    let kept = min(n, split == .train ? (0.8 * n).rounded(.up) + Double(classes) : (0.2 * n).rounded(.down))
    let part = n > 0 ? heldBytes * kept / n : 0
    return DataFootprint(
      what: what, count: Int(kept), heldBytes: part, peakBytes: max(peakBytes, heldBytes + part))
  }

  /// `12.3 MiB`.
  public static func mebibytes(_ bytes: Double) -> String { String(format: "%.1f MiB", bytes / 1_048_576) }
}
