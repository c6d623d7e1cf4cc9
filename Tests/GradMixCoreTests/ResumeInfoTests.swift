import Foundation
import GradMixTestSupport
import Testing

@testable import GradMixCore

/// How `--resume` reads a run's method from run.json across the names of
/// 2026-12-05 (``ResumeInfo/method(recorded:names:)``).
@Suite("Resume info: method names")
struct ResumeInfoTests {
  /// A run.json with the fields `--resume` needs; `names` is `method_names` (nil: left out, as before 2026-12-05).
  static func read(method: String, names: String?) throws -> ResumeInfo {
    let dir = try makeTemporaryDirectory("gradmix-resume-info")
    var run: [String: Any] = [
      "method": method, "seed": "1", "data_seed": "1", "steps": 10, "data_root": "data",
      "target_gradient": "broadcast", "comm": "allreduce", "coordinator_owns_sources": false,
    ]
    if let names { run["method_names"] = names }
    try JSONSerialization.data(withJSONObject: run).write(to: URL(fileURLWithPath: dir + "/run.json"))
    return try ResumeInfo.read(directory: dir)
  }

  @Test("a run.json from before the names: gradmix resumes as gated-pcgrad, gradmix-paper as gradmix, with a note")
  func formerNames() throws {
    let old = try Self.read(method: "gradmix", names: nil)
    #expect(old.method == .gatedPCGrad)
    let note = try #require(old.renamedNote)
    #expect(note.contains("'gradmix'") && note.contains("'gated-pcgrad'") && !note.contains("\n"), "\(note)")
    let paper = try Self.read(method: "gradmix-paper", names: nil)
    #expect(paper.method == .gradmix && paper.renamedNote != nil)
    #expect(try Self.read(method: "gradmix-no-pl", names: nil).method == .gatedPCGradNoPL)
    // A name that kept its meaning resumes without a note.
    let same = try Self.read(method: "uniform", names: nil)
    #expect(same.method == .uniform && same.renamedNote == nil)
  }

  @Test("a run.json with the current names: gradmix is the paper's method, no note; an old name is refused")
  func currentNames() throws {
    let now = try Self.read(method: "gradmix", names: Method.namesDate)
    #expect(now.method == .gradmix && now.renamedNote == nil)
    #expect(try Self.read(method: "gated-pcgrad", names: Method.namesDate).method == .gatedPCGrad)
    let error = #expect(throws: ConfigError.self) { try Self.read(method: "gradmix-paper", names: Method.namesDate) }
    #expect(
      error?.description.contains("the paper's method is now called gradmix") == true, "\(String(describing: error))")
  }

  @Test("the start-up table says when a method's name meant another method before 2026-12-05")
  func startUpNote() {
    #expect(RunRecorder.renameNote(.gradmix) == " (until 2026-12-05 `gradmix` meant `gated-pcgrad`)")
    for m in Method.allCases where m != .gradmix { #expect(RunRecorder.renameNote(m) == "", "\(m)") }
  }
}
