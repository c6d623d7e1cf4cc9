import Foundation

/// The result of running a built product of this package.
public struct ProcessResult {
  public let status: Int32
  public let stdout: String
  public let stderr: String
}

/// The folder holding the package's built products (`.build/debug`).
public func productsDirectory() -> URL {
  for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
    return bundle.bundleURL.deletingLastPathComponent()
  }
  return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

/// Runs `gradmix` (or another product) with `arguments`, capturing its output;
/// `environment` adds or replaces variables, `removing` drops them.
public func runProduct(
  _ arguments: [String], product name: String = "gradmix", environment: [String: String] = [:],
  removing: [String] = [], currentDirectory: String? = nil
) throws -> ProcessResult {
  try runProgram(
    productsDirectory().appendingPathComponent(name).path, arguments, environment: environment,
    removing: removing, currentDirectory: currentDirectory)
}

/// Runs any program with `arguments`, capturing its output.
public func runProgram(
  _ path: String, _ arguments: [String], environment: [String: String] = [:],
  removing: [String] = [], currentDirectory: String? = nil
) throws -> ProcessResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  for (k, v) in environment { env[k] = v }
  for k in removing { env[k] = nil }
  process.environment = env
  if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
  nonisolated(unsafe) var errData = Data()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async {
    errData = err.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  process.waitUntilExit()
  return ProcessResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// A new empty folder under the temporary directory, named `<prefix>-<uuid>`.
public func makeTemporaryDirectory(_ prefix: String = "gradmix-test") throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  return dir
}
