import Yams

extension DomainCatalog {
  /// The data root and data seed a training run of this config would use
  /// (`data_root`; `data_seed`, else `seed`, else 1), so `gradmix data
  /// inspect --config` looks at the same images as `gradmix train`.
  /// Unreadable values are nil (the training config check reports them).
  public static func parseRunDefaults(yaml: String) -> (dataRoot: String?, dataSeed: UInt64) {
    let top = (try? Yams.compose(yaml: yaml))??.mapping
    let root = top?["data_root"]?.scalar?.string
    let seed =
      top?["data_seed"]?.scalar.flatMap { UInt64($0.string) } ?? top?["seed"]?.scalar.flatMap { UInt64($0.string) }
    return (root, seed ?? 1)
  }
}
