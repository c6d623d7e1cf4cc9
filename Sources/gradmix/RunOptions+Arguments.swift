import ArgumentParser
import GradMixCore

// The CLI's enum options parse through their raw values (ArgumentParser
// lists the allowed values in the help and in its error message).
extension Method: ExpressibleByArgument {
  /// Parses `--method`, naming what a removed or renamed method is called
  /// now (``Method/removed``); ArgumentParser's own message lists only the
  /// known names.
  static func argument(_ name: String) throws -> Method {
    guard let method = Method(rawValue: name) else { throw ValidationError(Method.unknownMessage(name)) }
    return method
  }
}
extension TargetGradientMode: ExpressibleByArgument {}
extension MixingProtocol: ExpressibleByArgument {}
extension EvalSplit: ExpressibleByArgument {}
