import Foundation
import GradMixCore
import GradMixData
import GradMixDistributed
import GradMixEngine
import GradMixRecords
import GradMixTestSupport
import Testing

/// End-to-end runs of the trainer on a small synthetic data root (CI has no
/// fetched data): class c is a bar at a class-specific angle.
@Suite("Trainer", .serialized)
struct TrainerTests {
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  static func config(steps: Int = 30, extra: String = "", sources: String? = nil) throws -> TrainConfig {
    let yaml = """
      model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
      classes: 10
      steps: \(steps)
      batch_size: 10
      sources:
      \(sources ?? """
        - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}
        - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}
      """)
      target: {domain: mnist-m, split: test, labelled_per_class: 3, unlabelled: 150, test: 200}
      optimizer: {lr: 0.05, momentum: 0.9, weight_decay: 0.0005}
      pseudo_labels: {warmup: 10, every: 10, threshold: 0.3, per_class_cap: 10}
      eval_every: 10
      log_every: 5
      \(extra)
      """
    return try TrainConfig.parse(yaml: yaml, file: "test.yaml")
  }

  static func options(_ method: Method, seed: UInt64 = 1, steps: Int = 30) -> RunOptions {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("gradmix-run-\(UUID().uuidString)").path
    var o = RunOptions(
      method: method, seed: seed, dataSeed: 3, steps: steps, outDir: out, dataRoot: root,
      configPath: "test.yaml")
    o.progress = false
    return o
  }

  static func summary(_ dir: String) throws -> RunSummary {
    try #require(RecordCoding.read(RunSummary.self, path: dir + "/summary.json"), "\(dir)/summary.json")
  }

  /// metrics.jsonl's step records and events.
  static func metrics(_ dir: String) throws -> (steps: [MetricsRecord], events: [MetricsEvent]) {
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    let events = try lines.map { try #require(RecordCoding.decode(MetricsEvent.self, from: Data($0.utf8))) }
    let steps = try zip(lines, events).filter { $0.1.event == nil }.map {
      try #require(RecordCoding.decode(MetricsRecord.self, from: Data($0.0.utf8)))
    }
    return (steps, events.filter { $0.event != nil })
  }

  @Test("gated-pcgrad writes metrics, summary and a checkpoint that evaluates to the reported accuracy")
  func outputs() throws {
    let cfg = try Self.config()
    let opts = Self.options(.gatedPCGrad)
    let summary = try Trainer(config: cfg, options: opts, communicator: LocalCommunicator()).run()
    // The key names on disk, which scripts/report/*.py read.
    let keys = try #require(RecordCoding.read([String: JSONValue].self, path: opts.outDir + "/summary.json")).keys
    for key in [
      "method", "seed", "steps", "target_accuracy", "target_loss", "eval_split", "params_l2", "wall_seconds",
      "world_size", "mean_weights",
    ] {
      #expect(keys.contains(key), "summary.json lacks \(key)")
    }
    let s = try Self.summary(opts.outDir)
    #expect(s.method == "gated-pcgrad" && s.steps == 30 && s.worldSize == 1 && s.evalSplit == "test")
    // run.json dates its method names, so a later rename can resume it by what the name meant (ResumeInfo).
    let run = try #require(RecordCoding.read(RunInfo.self, path: opts.outDir + "/run.json"))
    #expect(run.method == "gated-pcgrad" && run.methodNames == Method.namesDate)
    let (records, events) = try Self.metrics(opts.outDir)
    let steps = records.filter { $0.weights != nil }.compactMap(\.step)
    #expect(steps.contains(30) && steps.contains(5))
    let last = try #require(records.last { $0.weights != nil })
    #expect(last.targetAccuracy == s.targetAccuracy && last.evalSplit == "test")
    let weights = try #require(last.weights)
    #expect(Set(weights.keys) == ["mnist[0-4]", "syndigits[5-9]", "target", "pseudo"])
    #expect(weights.values.allSatisfy { $0.count == 3 })  // conv1, fc1, fc2
    // Per layer, each open source has the same share 1/K (K the active sources: the three configured ones,
    // and the pseudo-labelled set once it has labels), a closed one 0: the weights sum to at most 1.
    for l in 0..<3 {
      let open = Set(weights.values.map { $0[l] }.filter { $0 > 0 })
      #expect(open.count <= 1, "layer \(l): unequal shares \(open)")
      #expect(open.allSatisfy { abs($0 - 1.0 / 3) < 1e-6 || abs($0 - 0.25) < 1e-6 }, "layer \(l): \(open)")
      #expect(weights.values.map { $0[l] }.reduce(0, +) <= 1 + 1e-6)
    }
    #expect(events.contains { $0.event == "pseudo_labels" })
    let model = try Sequential(spec: cfg.model.spec, inputShape: Shape([3, 28, 28]))
    let ckpt = try Checkpoint.load(from: opts.outDir + "/final.safetensors", for: model)
    #expect(ckpt.metadata.step == 30)
    let eval = try Evaluation.testAccuracy(
      config: cfg, parameters: ckpt.parameters, model: model, dataRoot: Self.root,
      dataSeed: 3)
    #expect(eval.accuracy == summary.accuracy)
    #expect(eval.count == 200)
    // Chance is 10%. The default rule's lower bound (one standard error of the smoothed cosine) leaves
    // a layer without a source update until some source is reliably useful, so its first steps learn
    // more slowly than the paper's rule (which reached > 20% here); measured 19%.
    #expect(summary.accuracy > 0.15, "30 steps should beat chance (10%) on the synthetic bars")
  }

  @Test("the same seed gives the same model; another seed does not")
  func determinism() throws {
    let cfg = try Self.config(steps: 12)
    let a = try Trainer(config: cfg, options: Self.options(.gatedPCGrad, steps: 12), communicator: LocalCommunicator())
      .run()
    let b = try Trainer(config: cfg, options: Self.options(.gatedPCGrad, steps: 12), communicator: LocalCommunicator())
      .run()
    let c = try Trainer(
      config: cfg, options: Self.options(.gatedPCGrad, seed: 2, steps: 12), communicator: LocalCommunicator()
    ).run()
    #expect(a.parametersL2 == b.parametersL2 && a.loss == b.loss)
    #expect(a.parametersL2 != c.parametersL2)
  }

  /// Every method runs with its sources, and no two methods train the same
  /// model: each turns on something the others do not (its sources, its
  /// weighting rule, its adaptive learning rate or pseudo-labels), so equal
  /// parameters would mean a method silently ran as another (e.g. every
  /// method falling back to uniform weights).
  @Test("every method runs with its sources, and no two methods train the same model")
  func methods() throws {
    // 30 steps: the default rule holds the target set alone for 10 and its label gate opens the
    // pseudo-label source only on evidence, so at 12 steps gated-pcgrad and gated-pcgrad-no-pl still agree.
    let cfg = try Self.config(steps: 30)
    var l2: [Method: Double] = [:]
    for m in Method.allCases {
      let trainer = try Trainer(config: cfg, options: Self.options(m, steps: 30), communicator: LocalCommunicator())
      let names = trainer.sources.map(\.name)
      switch m {
      case .targetOnly: #expect(names == ["target"])
      case .sourceOnly: #expect(names == ["mnist[0-4]", "syndigits[5-9]"])
      case .uniform, .finetune, .gatedPCGradNoPL: #expect(names == ["mnist[0-4]", "syndigits[5-9]", "target"])
      case .gatedPCGrad, .l2rw, .gradmix, .cosine, .tawt, .pcgradTarget:
        #expect(names == ["mnist[0-4]", "syndigits[5-9]", "target", "pseudo"])
      }
      let s = try trainer.run()
      #expect(s.accuracy.isFinite && s.parametersL2.isFinite, "\(m)")
      l2[m] = s.parametersL2
    }
    let same = Dictionary(grouping: Method.allCases, by: { l2[$0] ?? .nan }).values.filter { $0.count > 1 }
    #expect(same.isEmpty, "methods that trained the same model: \(same)")
  }

  /// A source whose labels are pure noise should be weighted down by the look-ahead rule.
  /// The label bound alone (`label_match: false`): on this synthetic task the
  /// per-class check closes the clean source too (its class rows keep
  /// matching other target rows; docs/EXPERIMENTS.md, 2026-12-05 night).
  @Test("a source with shuffled labels gets a lower mean weight than a clean one")
  func noisySource() throws {
    let cfg = try Self.config(
      steps: 120,
      extra: """
        weighting: {label_match: false}
        domains:
          mnist-noise: {base: mnist, transforms: [{op: shuffle-labels}]}
        """,
      sources: """
          - {name: clean, domain: mnist, split: train}
          - {name: noise, domain: mnist-noise, split: train}
        """)
    let opts = Self.options(.gatedPCGradNoPL, steps: 120)
    _ = try Trainer(config: cfg, options: opts, communicator: LocalCommunicator()).run()
    let s = try Self.summary(opts.outDir)
    let mean = try #require(s.meanWeights)
    let clean = try #require(mean["clean"]), noise = try #require(mean["noise"])
    print("mean weights: clean \(clean), noise \(noise)")
    #expect(noise.reduce(0, +) < 0.8 * clean.reduce(0, +))
    // Per (source, layer) over the last four fifths of the steps (every step, not only logged ones).
    #expect(s.layerShareFromStep == 24)
    #expect(s.layerSteps == 96 - (s.skippedSteps ?? 0))
    let open = try #require(s.layerOpenShare)
    let layerMean = try #require(s.layerMeanWeight)
    print("open share: \(open), mean weight: \(layerMean)")
    #expect(Set(open.keys) == Set(mean.keys) && open.values.allSatisfy { $0.count == 3 })
    for (name, shares) in open {
      let w = try #require(layerMean[name])
      // A weight is at most 1, so the mean weight cannot exceed the share of steps open;
      // a share is a fraction of the counted steps.
      for j in shares.indices { #expect(shares[j] >= 0 && shares[j] <= 1 && w[j] <= shares[j] + 1e-12) }
    }
    let cleanLate = try #require(layerMean["clean"]), noiseLate = try #require(layerMean["noise"])
    #expect(noiseLate.reduce(0, +) < cleanLate.reduce(0, +))
  }

  /// The label gate (docs/DESIGN.md, "The label gate"): a source whose labels
  /// are a fixed permutation of the target's (class c is the bar of class
  /// c + 5, the perpendicular one) has label signatures unlike the target's,
  /// so after the hold it gets (almost) no weight in any layer, while the
  /// same run without the gate gives it some. Seed 1, data seed 3. The label
  /// bound alone (`label_match: false`), as in ``noisySource()``.
  @Test("label gate: a permuted-label source is closed in every layer; metrics carry the label scores")
  func labelGate() throws {
    let sources = """
        - {name: clean, domain: mnist, split: train}
        - name: permuted
          domain: mnist
          split: train
          label_map: {0: 5, 1: 6, 2: 7, 3: 8, 4: 9, 5: 0, 6: 1, 7: 2, 8: 3, 9: 4}
      """
    func run(_ gate: Bool) throws -> (weights: [String: [Double]], records: [MetricsRecord]) {
      let cfg = try Self.config(
        steps: 60, extra: "weighting: {label_gate: \(gate), label_match: false}", sources: sources)
      let opts = Self.options(.gatedPCGradNoPL, steps: 60)
      _ = try Trainer(config: cfg, options: opts, communicator: LocalCommunicator()).run()
      return (try #require(try Self.summary(opts.outDir).meanWeights), try Self.metrics(opts.outDir).steps)
    }
    let gated = try run(true), open = try run(false)
    let permuted = try #require(gated.weights["permuted"]), ungated = try #require(open.weights["permuted"])
    print("permuted source's mean weights: gated \(permuted), ungated \(ungated)")
    #expect(permuted.allSatisfy { $0 < 0.02 })
    #expect(ungated.reduce(0, +) > permuted.reduce(0, +))
    // The scores are logged; the permuted source's average is below 0 and the clean source's above.
    let cosines = gated.records.compactMap(\.labelScores)
    #expect(!cosines.isEmpty && open.records.allSatisfy { $0.labelScores == nil })
    let mean = { (name: String) in cosines.compactMap { $0[name] }.reduce(0, +) / Double(cosines.count) }
    #expect(mean("permuted") < 0 && mean("clean") > mean("permuted") + 0.1, "\(mean("permuted")) \(mean("clean"))")
  }

  @Test("the label gate and its class match need a dense last layer: one error naming the key")
  func labelGateNeedsDenseLastLayer() throws {
    var cfg = try Self.config(steps: 5, extra: "weighting: {label_gate: true}")
    cfg.model.spec += "-dropout0.5"
    #expect {
      _ = try Trainer(config: cfg, options: Self.options(.gatedPCGrad, steps: 5), communicator: LocalCommunicator())
    } throws: { error in
      "\(error)".contains("weighting.label_gate") && "\(error)".contains("dense")
    }
    cfg.weighting = try Self.config(steps: 5, extra: "weighting: {label_match: true}").weighting
    #expect {
      _ = try Trainer(config: cfg, options: Self.options(.gatedPCGrad, steps: 5), communicator: LocalCommunicator())
    } throws: { error in
      "\(error)".contains("weighting.label_match") && "\(error)".contains("dense")
    }
    // Without the explicit key the default gate is simply off for such a model.
    cfg.weighting = nil
    _ = try Trainer(config: cfg, options: Self.options(.gatedPCGrad, steps: 5), communicator: LocalCommunicator())
  }

}
