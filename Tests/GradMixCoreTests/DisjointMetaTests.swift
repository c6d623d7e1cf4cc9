import Foundation
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixTestSupport
import Testing

@testable import GradMixCore

/// `target.disjoint_meta`: the target-as-source batch of step t is the meta
/// batch of step t + 1 (the meta batch's stream, one batch ahead).
@Suite("Disjoint meta batch", .serialized)
struct DisjointMetaTests {
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  func trainer(disjoint: Bool) throws -> Trainer {
    let yaml = """
      model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
      classes: 10
      steps: 4
      batch_size: 10
      sources:
        - {domain: mnist, split: train}
      target: {domain: mnist-m, split: test, labelled_per_class: 3, unlabelled: 50, test: 50, disjoint_meta: \(disjoint)}
      optimizer: {lr: 0.05}
      """
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("gradmix-dm-\(UUID().uuidString)").path
    var o = RunOptions(
      method: .gradmixNoPL, seed: 1, dataSeed: 3, steps: 4, outDir: out, dataRoot: Self.root, configPath: "t.yaml")
    o.progress = false
    let t = try Trainer(
      config: try TrainConfig.parse(yaml: yaml, file: "t.yaml"), options: o, communicator: LocalCommunicator())
    try t.formShardGroups()
    return t
  }

  @Test("the target-as-source batch of step t holds the meta batch of step t + 1; without the option it does not")
  func oneBatchAhead() throws {
    for disjoint in [true, false] {
      let t = try trainer(disjoint: disjoint)
      let slot = try #require(t.slots.first { $0.info.kind == .target })
      #expect((slot.metaAhead != nil) == disjoint)
      var sourceBatches: [[Int32]] = [], metaBatches: [[Int32]] = []
      for step in 0..<4 {
        _ = try t.step(step, stopRequested: false)
        sourceBatches.append(slot.labels)
        metaBatches.append(t.target.metaLabels)
      }
      let ahead = (0..<3).allSatisfy { sourceBatches[$0] == metaBatches[$0 + 1] }
      #expect(ahead == disjoint, "source \(sourceBatches) meta \(metaBatches)")
    }
  }
}
