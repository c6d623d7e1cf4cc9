import GradMixCore
import Testing

@Suite("Training config")
struct TrainConfigTests {
  static let valid = """
    model: {spec: conv4k5-relu-pool2-fc10}
    classes: 10
    steps: 20
    sources:
      - {domain: mnist, classes: [0, 1, 2, 3, 4], batch_size: 8}
      - {name: printed, domain: syndigits, classes: [5, 6, 7, 8, 9]}
    target: {domain: mnist-m, labelled_per_class: 2, unlabelled: 50, test: 50}
    optimizer: {lr: 0.01, schedule: {kind: cosine, warmup: 2}}
    pseudo_labels: {warmup: 5, every: 5, threshold: 0.8, per_class_cap: 3}
    domains:
      mnist-inverted: {base: mnist, transforms: [{op: invert}]}
    """

  @Test("a valid config parses, with defaults and derived names")
  func valid() throws {
    let c = try TrainConfig.parse(yaml: Self.valid, file: "c.yaml")
    #expect(c.sources.count == 2)
    #expect(c.sourceName(0) == "mnist[0-4]" && c.sourceName(1) == "printed")
    #expect(c.sources[0].batchSize == 8)
    #expect(try c.learningRateSchedule() == .cosine(total: 20, warmup: 2, minFactor: 0))
    #expect(c.domains["mnist-inverted"] != nil)
  }

  /// Each bad config is rejected with the file, the field and the fault.
  @Test(
    "bad configs name the field and the fault",
    arguments: [
      ("steps: 20", "steps: 0", "steps: must be positive"),
      ("batch_size: 8}", "bach_size: 8}", "sources[0].bach_size: unknown key (did you mean 'batch_size'?)"),
      ("batch_size: 8}", "batch_size: -3}", "sources[0].batch_size: must be positive"),
      ("classes: 10\n", "classes: 10\nmethod: magic\n", "method: unknown method 'magic'"),
      (
        "classes: 10\n", "classes: 10\nmethod: gradmix-no-alr\n",
        "; gradmix-no-alr was removed 2026-12-05: it equals gated-pcgrad"
      ),
      (
        "classes: 10\n", "classes: 10\nmethod: gradmix-paper\n",
        "; gradmix-paper was renamed 2026-12-05: the paper's method is now called gradmix"
      ),
      (
        "classes: 10\n", "classes: 10\nmethod: gradmix-no-pl\n",
        "; gradmix-no-pl was renamed 2026-12-05: it is now called gated-pcgrad-no-pl"
      ),
      ("domain: syndigits", "domain: svhn", "sources[1].domain: unknown domain 'svhn'"),
      (
        "classes: [5, 6, 7, 8, 9]}", "classes: [5, 6, 7, 8, 9], label_map: {5: 12}}",
        "sources[1].label_map: maps 5 to 12"
      ),
      (
        "conv4k5-relu-pool2-fc10", "conv4k5-relu-pool2-fc7", "model.spec: the model has 7 outputs but the target has 10"
      ),
      ("conv4k5-relu-pool2-fc10", "conv4k40-fc10", "model.spec: layer 'conv4k40' does not fit"),
      ("lr: 0.01", "lr: -1", "optimizer.lr: must be positive"),
      ("classes: 10\n", "classes: 10\nweighting: {hold: -1}\n", "weighting.hold: must not be negative"),
      (
        "fc10}\nclasses: 10\n", "fc300}\nclasses: 300\nweighting: {label_match: true}\n",
        "weighting.label_match: the per-class check keeps 300² values per source and step; it takes at most 256"
      ),
      (
        "classes: 10\n", "classes: 10\nweighting: {label_gate: false, label_match: true}\n",
        "weighting.label_match: is a part of the label gate; it needs weighting.label_gate: true"
      ),
      (
        "classes: 10\n", "classes: 10\nadaptive_lr: {enabled: maybe}\n",
        "adaptive_lr.enabled: expected a value of type Bool"
      ),
      ("test: 50}", "test: 50, validation: -1}", "target.validation: must not be negative"),
      ("test: 50}", "test: 50, classes: [0, 12]}", "target.classes: class 12 is outside 0..<10"),
      ("threshold: 0.8", "threshold: 1.5", "pseudo_labels.threshold: must be in (0, 1]"),
      ("kind: cosine", "kind: linear", "optimizer.schedule.kind: unknown schedule 'linear'"),
      ("labelled_per_class: 2", "labelled_per_class: two", "target.labelled_per_class: expected a value of type Int"),
      ("test: 50}", "test: 50, extra: 1}", "target.extra: unknown key"),
      ("op: invert", "op: explode", "domains"),
    ])
  func bad(_ c: (String, String, String)) {
    let yaml = Self.valid.replacingOccurrences(of: c.0, with: c.1)
    #expect(yaml != Self.valid, "the test's replacement did not apply")
    do {
      _ = try TrainConfig.parse(yaml: yaml, file: "c.yaml")
      Issue.record("accepted: \(c.1)")
    } catch let e as ConfigError {
      #expect(e.description.hasPrefix("c.yaml: "), "\(e)")
      #expect(e.description.contains(c.2), "\(e)")
    } catch {
      Issue.record("unexpected error type: \(error)")
    }
  }

  /// The keys the rule clean-up of 2026-12-05 removed: each is refused as an
  /// unknown key, with the reason and the fix instead of a spelling guess.
  @Test(
    "removed keys are unknown keys that say they were removed",
    arguments: [
      "weighting: {label_floor: 0.5}", "weighting: {target_cap: 0.5}", "weighting: {magnitude: open}",
      "weighting: {label_classes: source}", "weighting: {sharpness: 2}", "weighting: {prior: first}",
      "weighting: {gate: true}", "weighting: {layer_share: 0.5}",
    ])
  func removedKeys(_ line: String) {
    let key = "weighting." + line.dropFirst("weighting: {".count).prefix { $0 != ":" }
    expectRemoved(Self.valid + "\n" + line + "\n", field: key)
  }

  /// The keys of the layer-wise weights, removed with them on 2026-12-05 (issue 26): the error says why.
  @Test(
    "the layer-wise weights' removed keys say why they went",
    arguments: [
      ("weighting: {score: dot}", "weighting.score", "shaped only mix: layerwise"),
      ("weighting: {confidence: 1}", "weighting.confidence", "shaped only mix: layerwise"),
      ("weighting: {mix: layerwise}", "weighting.mix", "always mixes shares 1/K with projection"),
    ])
  func removedRuleKeys(_ c: (String, String, String)) {
    do {
      _ = try TrainConfig.parse(yaml: Self.valid + "\n" + c.0 + "\n", file: "c.yaml")
      Issue.record("accepted: \(c.0)")
    } catch let e as ConfigError {
      #expect(
        e.description.hasPrefix("c.yaml: \(c.1): unknown key (removed 2026-12-05 (docs/EXPERIMENTS.md): "), "\(e)")
      #expect(e.description.contains(c.2) && e.description.hasSuffix("delete it)"), "\(e)")
    } catch {
      Issue.record("unexpected error type: \(error)")
    }
  }

  @Test("target.disjoint_meta is a removed key too")
  func removedTargetKey() {
    expectRemoved(
      Self.valid.replacingOccurrences(of: "test: 50}", with: "test: 50, disjoint_meta: true}"),
      field: "target.disjoint_meta")
  }

  private func expectRemoved(_ yaml: String, field: String) {
    do {
      _ = try TrainConfig.parse(yaml: yaml, file: "c.yaml")
      Issue.record("accepted: \(field)")
    } catch let e as ConfigError {
      #expect(
        e.description
          == "c.yaml: \(field): unknown key (removed 2026-12-05 (docs/EXPERIMENTS.md): it was inert under the default; delete it)",
        "\(e)")
    } catch {
      Issue.record("unexpected error type: \(error)")
    }
  }

  @Test("missing and unreadable files")
  func files() {
    #expect(throws: ConfigError.self) { try TrainConfig.load(path: "/nonexistent/c.yaml") }
    #expect(throws: ConfigError.self) { try TrainConfig.load(path: "/tmp") }
    #expect(throws: ConfigError.self) { try TrainConfig.parse(yaml: "model: [", file: "c.yaml") }
  }
}
