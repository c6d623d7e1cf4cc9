import ArgumentParser
import Foundation
import GradMixData

extension DataCommand {
  /// `gradmix data synthesize DIR`: a tiny learnable data root for smoke tests.
  struct Synthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a small synthetic data root (bars instead of digits) for smoke tests.",
      discussion: """
        Lays out mnist, fashion, syndigits, uci and photos like data/raw, with class c drawn as a \
        bar at a class-specific angle, so a short run learns something. Used by the MPI tests and \
        to check a cluster launch without staging the real data: every shipped config that reads \
        data/raw starts on it, given enough images per class for its target split (e.g. \
        --per-class-test 850 for experiments/digits, whose target takes 8,100 test images).
        """)

    @Argument(help: "The folder to create (must not exist yet).")
    var directory: String

    @Option(help: "Images per class in each train split.")
    var perClassTrain = 40

    @Option(help: "Images per class in each test split.")
    var perClassTest = 40

    func run() throws {
      guard !FileManager.default.fileExists(atPath: directory) else {
        throw ValidationError("\(directory) already exists; choose a new folder")
      }
      guard perClassTrain > 0, perClassTest > 0 else { throw ValidationError("the per-class counts must be positive") }
      _ = try SyntheticDataRoot.make(perClassTrain: perClassTrain, perClassTest: perClassTest, directory: directory)
      print("wrote a synthetic data root to \(directory)")
    }
  }
}
