import Foundation
import Testing
import Yams

@testable import GradMixCore

/// `config.resolved.yaml` (``TrainConfig/resolved(options:)``): it keeps every
/// key a file sets and writes out every default; and `--steps` scales only
/// the step numbers the file wrote, never an explicit override.
@Suite("Resolved config")
struct ResolvedConfigTests {
  /// Every key the loader accepts, each set to a value that is not its default.
  static let everyKey = """
    model: {spec: conv4k5-relu-pool2-fc10, input: [1, 28, 28], init: /tmp/pretrained.safetensors, init_skip: [fc1], freeze: [conv1]}
    data_root: /tmp/elsewhere
    seed: 7
    data_seed: 8
    steps: 40
    classes: 10
    method: tawt
    batch_size: 16
    domains:
      mnist-inverted: {base: mnist, transforms: [{op: invert}]}
    sources:
      - {name: digits, domain: mnist-inverted, split: test, classes: [0, 1, 2, 3, 4], label_map: {0: 1, 1: 0}, limit: 100, batch_size: 8}
    target: {domain: mnist-m, split: train, test_split: test, labelled_per_class: 2, unlabelled: 50, test: 50, validation: 20, classes: [0, 1, 2, 3, 4, 5, 6, 7], batch_size: 4, as_source: false, source_batch_size: 6}
    optimizer: {lr: 0.05, layer_lr: {fc1: 2}, momentum: 0.5, weight_decay: 0.001, nesterov: true, schedule: {kind: cosine, every: 7, gamma: 0.5, warmup: 3, min_factor: 0.1}}
    adaptive_lr: {enabled: true, beta: 0.8, min_scale: 0.6, max_scale: 1.5}
    pseudo_labels: {warmup: 5, every: 6, threshold: 0.8, per_class_cap: 3, batch_size: 12}
    finetune_source_fraction: 0.3
    weighting: {smoothing: 0.5, hold: 3, label_gate: true, label_confidence: 1.5, label_match: false, tawt_rate: 0.3}
    augment: {max_shift: 2}
    eval_every: 5
    log_every: 2
    checkpoint_every: 4
    keep_checkpoints: 1
    """

  /// Options that agree with the file (the resolved config writes the options' method, seeds, steps, data root).
  static func options(for c: TrainConfig) -> RunOptions {
    RunOptions(
      method: c.method.flatMap(Method.init(rawValue:)) ?? .gatedPCGrad, seed: c.seed ?? 1, dataSeed: c.dataSeed ?? 1,
      steps: c.steps, outDir: "/tmp/unused", dataRoot: c.dataRoot ?? "data/raw", configPath: "c.yaml")
  }

  /// The key paths a YAML text sets, in ``KeySchema/keyPaths`` spelling.
  static func keyPaths(_ node: Node?, _ path: String = "") -> Set<String> {
    let leaves = Set(KeySchema.trainConfig.keyPaths)
    switch node {
    case .sequence? where leaves.contains(path + "[]"):  // a list of values (`model.freeze: [conv1]`)
      return [path + "[]"]
    case .mapping(let m)? where !leaves.contains(path):  // not a free map (`domains`, `label_map`, `layer_lr`)
      return m.reduce(into: Set<String>()) { out, pair in
        let key = pair.key.string ?? ""
        out.formUnion(keyPaths(pair.value, path.isEmpty ? key : "\(path).\(key)"))
      }
    case .sequence(let items)? where path == "sources":
      return items.reduce(into: Set<String>()) { $0.formUnion(keyPaths($1, path + "[]")) }
    default:
      return [path]
    }
  }

  /// A loaded YAML value with every mapping's keys as strings (`label_map` keys are numbers).
  static func normalised(_ v: Any) -> Any {
    if let m = v as? [AnyHashable: Any] {
      return Dictionary(uniqueKeysWithValues: m.map { ("\($0.key.base)", normalised($0.value)) })
    }
    if let a = v as? [Any] { return a.map(normalised) }
    return v
  }

  /// The value at a dotted path (`sources[]` is the first item), as sorted JSON for comparison.
  static func value(_ path: String, in object: Any) -> String? {
    var here: Any? = normalised(object)
    for part in path.split(separator: ".") {
      let list = part.hasSuffix("[]")
      here = (here as? [String: Any])?[String(list ? part.dropLast(2) : part)]
      if list { here = (here as? [Any])?.first }
    }
    guard let here else { return nil }
    let data = try? JSONSerialization.data(withJSONObject: [here], options: [.sortedKeys])
    return data.map { String(decoding: $0, as: UTF8.self) }
  }

  @Test("the test sets every key the loader accepts (a new key needs a value here and round-trip support)")
  func coversEveryKey() throws {
    #expect(Self.keyPaths(try Yams.compose(yaml: Self.everyKey)) == Set(KeySchema.trainConfig.keyPaths))
  }

  @Test("config.resolved.yaml round-trips every key set to a non-default value")
  func roundTrip() throws {
    let config = try TrainConfig.parse(yaml: Self.everyKey, file: "c.yaml")
    let resolved = config.resolved(options: Self.options(for: config))
    let text = try resolved.yaml()
    let back = try TrainConfig.parse(yaml: text, file: "config.resolved.yaml")
    #expect(back == resolved)
    #expect(back == config, "resolving a config that sets every key changes nothing")
    // Key by key, as written: nothing dropped or replaced by a default.
    let input = try #require(try Yams.load(yaml: Self.everyKey)), output = try #require(try Yams.load(yaml: text))
    for key in KeySchema.trainConfig.keyPaths {
      #expect(Self.value(key, in: output) == Self.value(key, in: input), "\(key)")
    }
  }

  @Test("a minimal config resolves to every default, written out and read back")
  func defaultsWrittenOut() throws {
    let config = try TrainConfig.parse(yaml: TrainConfigTests.valid, file: "c.yaml")
    let resolved = config.resolved(options: Self.options(for: config))
    let text = try resolved.yaml()
    #expect(try TrainConfig.parse(yaml: text, file: "config.resolved.yaml") == resolved)
    // The keys that have no default (absent means "none" or "all"); `every` and `gamma` belong to a step schedule.
    let noDefault: Set<String> = [
      "target.test_split", "target.validation", "target.classes", "sources[].classes", "sources[].label_map",
      "sources[].limit", "checkpoint_every", "optimizer.schedule.every", "optimizer.schedule.gamma", "model.init",
    ]
    let written = Self.keyPaths(try Yams.compose(yaml: text))
    let given = Self.keyPaths(try Yams.compose(yaml: TrainConfigTests.valid))
    #expect(written == Set(KeySchema.trainConfig.keyPaths).subtracting(noDefault).union(given))
    let d = GatedPCGradWeighting.Defaults.self
    #expect(
      resolved.weighting
        == TrainConfig.Weighting(
          smoothing: d.smoothing, hold: d.hold, labelGate: true, labelConfidence: d.labelConfidence,
          labelMatch: true, tawtRate: TAWTWeighting.defaultRate))
    #expect(resolved.adaptiveLR?.enabled == false && resolved.evalEvery == 2 && resolved.logEvery == 1)
    #expect(text.contains("smoothing: 0.9") && text.contains("beta: 0.9") && text.contains("tawt_rate: 0.1"), "\(text)")
    // gradmix's (the paper's) adaptive learning rate is on by default; a model whose last layer is not dense has no label gate.
    let paper = config.resolved(
      options: RunOptions(
        method: .gradmix, seed: 1, dataSeed: 1, steps: 20, outDir: "/tmp/unused", dataRoot: "d",
        configPath: "c.yaml"))
    #expect(paper.adaptiveLR?.enabled == true)
    var pooled = config
    pooled.model.spec = "conv10k5-gap"
    let gap = pooled.resolved(options: Self.options(for: config))
    #expect(gap.weighting?.labelGate == false && gap.weighting?.labelMatch == false)
    // Above 256 classes the per-class check (C² values per source and step) is off by default, gate kept.
    var wide = config
    (wide.classes, wide.model.spec) = (300, "conv4k5-relu-pool2-fc300")
    let many = wide.resolved(options: Self.options(for: wide))
    #expect(many.weighting?.labelGate == true && many.weighting?.labelMatch == false)
    let rule = Method.gatedPCGrad.makeRule(sources: 2, layers: 2, config: wide) as? GatedPCGradWeighting
    #expect(rule?.labelGate == true && rule?.labelMatch == false && rule?.usesClassCosines == false)
  }

  @Test("--steps scales the file's step numbers but never an explicit override (checkpoint_every=20 stays 20)")
  func explicitNotScaled() throws {
    var config = try TrainConfig.parse(yaml: TrainConfigTests.valid, file: "c.yaml")
    config.checkpointEvery = 20  // as the override left it
    config.evalEvery = 10
    let overrides = try [
      "checkpoint_every=20", "pseudo_labels={warmup: 5, every: 5, threshold: 0.8, per_class_cap: 3}",
    ]
    .map(ConfigOverride.init(parsing:))
    // The file's steps are 20: --steps 60 scales by 3.
    let scaled = config.scaled(toSteps: 60, explicit: overrides)
    #expect(scaled.config.checkpointEvery == 20 && scaled.config.pseudoLabels?.warmup == 5)
    #expect(scaled.config.pseudoLabels?.every == 5 && scaled.config.evalEvery == 30)
    #expect(scaled.config.optimizer.schedule?.warmup == 6)
    #expect(scaled.changed.map(\.key) == ["optimizer.schedule.warmup", "eval_every"])
    // Without overrides every step number scales.
    let all = config.scaled(toSteps: 60)
    #expect(all.config.checkpointEvery == 60 && all.config.pseudoLabels?.warmup == 15)
  }
}
