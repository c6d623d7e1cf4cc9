import GradMixData

extension ConfigError {
  /// A data error about a config field, restated to name the config file too.
  ///
  /// The data layer names fields (`sources[1].label_map`, the target split)
  /// but does not know which file they came from; the command line wants
  /// `<file>: <field>: <fault>`. Errors that already name a data file are
  /// returned unchanged.
  public static func naming(_ file: String, in error: Error) -> Error {
    guard let e = error as? DataError else { return error }
    switch e {
    case .badConfig(let field, let detail):
      return ConfigError(file: file, field: field, detail)
    case .classNotInDomain(let field, let label, let count):
      return ConfigError(file: file, field: field, "class \(label) has no sample among the domain's \(count) images")
    case .notEnoughSamples(let what, let needed, let available) where what.hasPrefix("target split"):
      return ConfigError(
        file: file, field: "target", "\(what): needs \(needed) samples but only \(available) are available")
    case .unknownDomain, .unknownTransform:
      return ConfigError(file: file, field: "", e.description)
    default:
      return error
    }
  }
}
