import ArgumentParser
import GradMixCore

// The CLI's enum options parse through their raw values (ArgumentParser
// lists the allowed values in the help and in its error message).
extension Method: ExpressibleByArgument {}
extension TargetGradientMode: ExpressibleByArgument {}
extension MixingProtocol: ExpressibleByArgument {}
extension EvalSplit: ExpressibleByArgument {}
