import Foundation
import PackagePlugin

/// Embeds the checkout's git commit and a dirty flag in the target it is
/// applied to, as a generated `BuildInfo.swift` (see scripts/build-info.sh).
///
/// A prebuild command runs before every build, so the commit is the one the
/// binary was built from, not the working directory's at run time. The script
/// rewrites the file only when its content changes, so an unchanged checkout
/// does not recompile the target. Without git (a tarball) the commit reads
/// `unknown` unless `GRADMIX_BUILD_COMMIT` is set. Choice: a shell script
/// rather than an executable plugin tool, because prebuild commands cannot
/// run executables built from source.
@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let out = context.pluginWorkDirectoryURL.appendingPathComponent("Generated")
    let script = context.package.directoryURL.appendingPathComponent("scripts/build-info.sh")
    return [
      .prebuildCommand(
        displayName: "Embedding the git commit in \(target.name)",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [script.path, context.package.directoryURL.path, out.path],
        outputFilesDirectory: out)
    ]
  }
}
