import Foundation
import PackagePlugin

/// Embeds the checkout's git commit and a dirty flag in the target it is
/// applied to, as a generated `BuildInfo.swift` (see scripts/build-info.sh).
///
/// A build command whose inputs are git's state (HEAD, the branch's ref, the
/// index) and the package's sources and manifest: it runs again whenever one
/// of them changes, so the commit is the one the binary was built from, not
/// the working directory's at run time. Choice: not a prebuild command, which
/// SwiftPM 6 runs only when it plans the build anew (a commit or an edited
/// source alone did not re-run it, and run.json named the previous commit).
/// The script rewrites the file only when its content changes, so an
/// unchanged checkout does not recompile the target. Without git (a tarball)
/// the commit reads `unknown` unless `GRADMIX_BUILD_COMMIT` is set. Choice: a
/// shell script rather than an executable plugin tool, so the plugin needs no
/// tool built from source.
@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let package = context.package.directoryURL
    let output = context.pluginWorkDirectoryURL.appendingPathComponent("Generated/BuildInfo.swift")
    let script = package.appendingPathComponent("scripts/build-info.sh")
    let inputs =
      [script, package.appendingPathComponent("Package.swift")] + Self.gitState(package)
      + Self.files(under: package.appendingPathComponent("Sources"))
    return [
      .buildCommand(
        displayName: "Embedding the git commit in \(target.name)",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [script.path, package.path, output.deletingLastPathComponent().path],
        inputFiles: inputs, outputFiles: [output])
    ]
  }

  /// The files git changes on a commit, checkout or staging: HEAD, the index,
  /// the current branch's ref and packed-refs (those that exist; none outside
  /// a checkout). A worktree's `.git` file names its git directory, whose
  /// `commondir` names the one that holds the refs.
  static func gitState(_ package: URL) -> [URL] {
    let fm = FileManager.default
    let dotGit = package.appendingPathComponent(".git")
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return [] }
    func resolve(_ text: String, from base: URL) -> URL {
      let p = text.trimmingCharacters(in: .whitespacesAndNewlines)
      return p.hasPrefix("/") ? URL(fileURLWithPath: p) : base.appendingPathComponent(p)
    }
    var gitDir = dotGit
    var found: [URL] = []
    if !isDirectory.boolValue {
      found.append(dotGit)
      guard let text = try? String(contentsOf: dotGit, encoding: .utf8), text.hasPrefix("gitdir:") else { return found }
      gitDir = resolve(String(text.dropFirst("gitdir:".count)), from: package)
    }
    var common = gitDir
    if let text = try? String(contentsOf: gitDir.appendingPathComponent("commondir"), encoding: .utf8) {
      common = resolve(text, from: gitDir)
    }
    let head = gitDir.appendingPathComponent("HEAD")
    var candidates = [head, gitDir.appendingPathComponent("index"), common.appendingPathComponent("packed-refs")]
    if let text = try? String(contentsOf: head, encoding: .utf8), text.hasPrefix("ref:") {
      let ref = text.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines)
      candidates.append(common.appendingPathComponent(ref))
    }
    return found + candidates.filter { fm.fileExists(atPath: $0.path) }
  }

  /// Every regular file below `directory` (empty if it does not exist).
  static func files(under directory: URL) -> [URL] {
    guard let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
    else { return [] }
    return walk.compactMap { $0 as? URL }.filter {
      (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
    }
  }
}
