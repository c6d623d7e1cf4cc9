import Foundation
import GradMixEngine

/// The memory one rank of a training run needs, estimated before anything large is allocated.
///
/// Counts the flat buffers the trainer allocates (θ, velocity, mixed
/// gradient, target gradient, one gradient per local source, the gather
/// buffers on the coordinator) and the workspaces (one for the largest
/// training batch, one for evaluation), with each convolution's im2col
/// scratch per engine thread. Sums are in `Double`, so absurd sizes give a
/// large estimate instead of an integer overflow. Data is not counted here:
/// the data layer checks what holding it needs (`DataMemory`), and IDX
/// files are streamed (README, "Reliability"). Choice: a plain sum of the allocations, not a measured
/// profile; the tests check that refused sizes never allocate and that
/// accepted small configs stay under a bound.
public struct MemoryEstimate: Equatable, Sendable {
  /// θ, velocity, mixed gradient and target gradient.
  public var parameterBytes: Double
  /// One gradient per local source, plus the gather protocol's buffers.
  public var gradientBytes: Double
  /// Activations, caches and per-thread scratch of the training and evaluation workspaces.
  public var workspaceBytes: Double
  /// The largest batch the workspace holds.
  public var batch: Int
  public var threads: Int

  public var totalBytes: Double { parameterBytes + gradientBytes + workspaceBytes }

  /// The estimate for `model` with `localSources` gradient buffers, batches of up to `batch`.
  public init(
    model: Sequential, localSources: Int, batch: Int, evaluationBatch: Int = 250, gatherSources: Int = 0,
    threads: Int
  ) {
    let p = Double(model.parameterCount) * 4
    parameterBytes = 4 * p
    gradientBytes = Double(localSources) * p + Double(gatherSources) * p
    workspaceBytes =
      MemoryEstimate.workspaceBytes(model: model, batch: batch)
      + MemoryEstimate.workspaceBytes(model: model, batch: evaluationBatch)
    self.batch = batch
    self.threads = threads
  }

  /// Bytes of a ``Workspace`` for batches of up to `batch` (as `Workspace.init` allocates).
  ///
  /// Scratch is computed exactly for a batch of at most 256 and scaled
  /// linearly above that (exact for pooling, dense and dropout, an
  /// overestimate for a convolution, whose im2col works in chunks).
  public static func workspaceBytes(model: Sequential, batch: Int) -> Double {
    let n = Double(batch)
    var floats = n * Double(model.inputShape.count)
    var largest = 0.0
    for (i, layer) in model.layers.enumerated() {
      if !layer.isView { floats += n * Double(model.shapes[i + 1].count) }
      if i > 0 { largest = max(largest, n * Double(model.shapes[i].count)) }
    }
    floats += 2 * largest + n * Double(model.outputShape.count)
    // Guard the layers' own integer arithmetic against absurd sizes (the estimate is already huge then).
    guard floats < 1e15 else { return floats * 4 }
    let b0 = min(batch, 256)
    for (i, layer) in model.layers.enumerated() {
      floats += Double(layer.scratchCount(input: model.shapes[i], batch: b0)) * n / Double(b0)
    }
    return floats * 4
  }

  /// One line for a refusal: the estimate, its parts, and what is available.
  public func refusal(available: AvailableMemory) -> String {
    "needs about \(Self.format(totalBytes)) of memory (parameters and optimizer \(Self.format(parameterBytes)), "
      + "source gradients \(Self.format(gradientBytes)), workspaces \(Self.format(workspaceBytes)) for batches of "
      + "\(batch) with \(threads) thread(s)) but \(Self.format(available.bytes)) are available (\(available.source)); "
      + "lower batch_size, the model's size (model.spec, model.input) or --threads"
  }

  /// `1.5 GiB`, `12.0 MiB`, ...
  public static func format(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = bytes, u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[u])
  }
}
