import Foundation
import GradMixData
import GradMixEngine

extension MemoryEstimate {
  /// The estimate for rank `rank` of a run of `config` with `options`, on a world of `worldSize`.
  ///
  /// The source count is an upper bound: this rank's share of the
  /// configured sources, plus the target and pseudo-label sources.
  public static func training(config: TrainConfig, options: RunOptions, rank: Int, worldSize: Int, threads: Int)
    throws -> MemoryEstimate
  {
    let model = try Sequential(
      spec: config.model.spec, inputShape: Shape(config.model.input ?? TrainConfig.Defaults.input),
      threads: threads)
    // An upper bound on the gradient buffers of one rank: its share of the configured sources
    // (or shards of them), plus the target and pseudo-label sources.
    let k = config.sources.count
    let owners = worldSize == 1 || options.coordinatorOwnsSources ? worldSize : worldSize - 1
    let local = (k + owners - 1) / max(owners, 1) + 2
    let batch =
      ([
        config.batchSize ?? TrainConfig.Defaults.batchSize, config.target.batchSize, config.target.sourceBatchSize,
        config.pseudoLabels?.batchSize,
      ] + config.sources.map(\.batchSize)).compactMap { $0 }.max() ?? TrainConfig.Defaults.batchSize
    let gather = options.mixing == .gather && worldSize > 1 ? (rank == 0 ? config.sources.count + 2 : local) : 0
    return MemoryEstimate(model: model, localSources: local, batch: batch, gatherSources: gather, threads: threads)
  }

  /// Throws a ``ConfigError`` if the run needs more memory than is available: naming `file` if
  /// the model alone does not fit, else the data file or folder whose loading would not fit
  /// (``DataEstimate``, sized from headers before any data is read).
  public static func check(
    config: TrainConfig, options: RunOptions, rank: Int, worldSize: Int, threads: Int,
    file: String, available: AvailableMemory? = AvailableMemory.current()
  ) throws {
    let estimate = try training(config: config, options: options, rank: rank, worldSize: worldSize, threads: threads)
    guard let available else { return }
    if estimate.totalBytes > available.bytes {
      throw ConfigError(file: file, field: "", estimate.refusal(available: available))
    }
    let catalog = try DomainCatalog(dataRoot: options.dataRoot, custom: config.domains, sampleShape: config.sampleShape)
    try DataEstimate(config: config, options: options, catalog: catalog, rank: rank, worldSize: worldSize)
      .check(modelBytes: estimate.totalBytes, available: available)
  }
}
