/// The method names a run folder records, and the names before them.
///
/// On 2026-12-05 the default rule was renamed (issue #26, "Honest names"):
/// `gradmix` had been the gated PCGrad rule and became the paper's method,
/// `gradmix-paper` and `gradmix-no-pl` went. run.json records the date of
/// its names as `method_names`; a run.json without it uses the former names.
/// Read by `--resume` (``RunInfo/Settings/currentMethod``) and by every
/// report over run folders, so an old `gradmix` run is never grouped with
/// the paper's method.
public enum MethodNames {
  /// The date of the current names, written to run.json as `method_names`.
  public static let date = "2026-12-05"
  /// A former name whose method is called otherwise now, and its current name.
  public static let former: [String: String] = [
    "gradmix": "gated-pcgrad", "gradmix-paper": "gradmix", "gradmix-no-pl": "gated-pcgrad-no-pl",
  ]
}

extension RunInfo.Settings {
  /// ``method`` under today's names: mapped through ``MethodNames/former``
  /// when run.json has no `method_names` (written before 2026-12-05).
  public var currentMethod: String? {
    guard methodNames == nil, let m = method else { return method }
    return MethodNames.former[m] ?? m
  }
}
