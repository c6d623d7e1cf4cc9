import Foundation

/// Small rewrites of the command line and of ArgumentParser's messages.
enum CommandLineArguments {
  /// Joins `--option -5` into `--option=-5`, so a negative number is parsed
  /// as the option's value (and then refused with a message that says what
  /// is wrong) instead of as an unknown flag ("Missing value for '--steps'").
  /// Choice: only tokens that are numbers are joined, so `--out -x` still
  /// reads `-x` as a flag.
  static func joiningNegativeValues(_ args: [String]) -> [String] {
    var out: [String] = []
    var i = 0
    while i < args.count {
      let a = args[i]
      if a == "--" { out += args[i...]; break }
      if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
        out.append(a + "=" + args[i + 1])
        i += 2
        continue
      }
      out.append(a)
      i += 1
    }
    return out
  }

  static func isNegativeNumber(_ s: String) -> Bool {
    s.count > 1 && s.hasPrefix("-") && Double(s.dropFirst()) != nil
  }

  /// The first non-empty line of an ArgumentParser message, without its `Error: ` prefix.
  static func oneLine(_ message: String) -> String {
    var line =
      message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
      ?? "invalid arguments"
    for prefix in ["Error: ", "error: "] where line.hasPrefix(prefix) { line.removeFirst(prefix.count) }
    return line
  }
}
