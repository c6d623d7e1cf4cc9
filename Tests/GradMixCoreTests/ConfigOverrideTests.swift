import GradMixCore
import Testing

@Suite("Config overrides, scaling and the resolved config")
struct ConfigOverrideTests {
  static func load(_ overrides: [String], yaml: String = TrainConfigTests.valid) throws -> TrainConfig {
    let parsed = try overrides.map(ConfigOverride.init(parsing:))
    return try TrainConfig.parse(
      yaml: TrainConfig.applying(parsed, to: yaml, file: "c.yaml"), file: "c.yaml", overrides: parsed, original: yaml)
  }

  @Test("overrides set scalars, list items and new blocks, exactly as the file would")
  func applies() throws {
    let c = try Self.load([
      "optimizer.lr=0.05", "sources[1].limit=500", "adaptive_lr.beta=0.8",
      "sources[0].classes=[0, 1]", "method=uniform",
    ])
    #expect(c.optimizer.lr == 0.05)
    #expect(c.sources[1].limit == 500 && c.sources[0].limit == nil)
    #expect(c.adaptiveLR?.beta == 0.8)
    #expect(c.sources[0].classes == [0, 1])
    #expect(c.method == "uniform")
    // Everything else is as in the file.
    var expected = try TrainConfig.parse(yaml: TrainConfigTests.valid, file: "c.yaml")
    expected.optimizer.lr = 0.05
    expected.sources[1].limit = 500
    expected.adaptiveLR = c.adaptiveLR
    expected.sources[0].classes = [0, 1]
    expected.method = "uniform"
    #expect(c == expected)
  }

  /// Each bad override gets the file's one-line error, attributed to the command line.
  @Test(
    "bad overrides are checked like the file",
    arguments: [
      ("optimizer.lrr=0.1", "command line: optimizer.lrr: unknown key (did you mean 'lr'?)"),
      ("optimizer.lr=-1", "command line: optimizer.lr: must be positive, got -1.0"),
      ("optimizer.lr=fast", "command line: optimizer.lr: expected a value of type Float"),
      ("sources[5].limit=3", "command line: sources[5]: out of range: the list has 2 item(s)"),
      ("sources[1].limit=0", "command line: sources[1].limit: must be positive, got 0"),
      ("steps.x=1", "command line: steps: is not a mapping, so it has no key 'x'"),
      ("optimizer.lr", "command line: optimizer.lr: an override is KEY=VALUE"),
      ("optimizer.lr=", "command line: optimizer.lr: needs a value after '='"),
      ("a..b=1", "command line: a..b: not a key path"),
      ("pseudo_labels.threshold=2", "command line: pseudo_labels.threshold: must be in (0, 1]"),
      // A rule across fields broken by an override names the command line, not the file's line (issue #28).
      ("classes=5", "command line: model.spec: the model has 10 outputs but the target has 5 classes (with classes=5)"),
    ])
  func bad(_ c: (String, String)) {
    do {
      _ = try Self.load([c.0])
      Issue.record("\(c.0) was accepted")
    } catch let e as ConfigError {
      #expect(e.description.hasPrefix(c.1), "\(e.description)")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("an error in a field no override touched still names the file")
  func fileErrorsNameTheFile() throws {
    let yaml = TrainConfigTests.valid.replacingOccurrences(of: "steps: 20", with: "steps: 0")
    #expect(throws: ConfigError(file: "c.yaml", field: "steps", "must be positive, got 0")) {
      try Self.load(["optimizer.lr=0.05"], yaml: yaml)
    }
  }

  @Test("a data error about a field an override set names the command line; others keep their file")
  func dataErrors() throws {
    let o = [try ConfigOverride(parsing: "target.test=100000")]
    let data = ConfigError(
      file: "c.yaml", field: "target", "target split: needs 100000 samples but only 370 are available")
    #expect("\(ConfigOverride.attributing(data, to: o))" == "command line: target: " + data.detail)
    let other = ConfigError(file: "c.yaml", field: "sources[0]", "x")
    #expect(ConfigOverride.attributing(other, to: o) as? ConfigError == other)
    #expect(ConfigOverride.attributing(data, to: []) as? ConfigError == data)
  }

  @Test("--steps scales every step-based key; an unchanged step count changes nothing")
  func scaling() throws {
    let yaml = TrainConfigTests.valid + "\neval_every: 10\nlog_every: 3\ncheckpoint_every: 8\n"
    let c = try TrainConfig.parse(yaml: yaml, file: "c.yaml")
    let (s, changed) = c.scaled(toSteps: 40)
    #expect(s.steps == 40)
    #expect(s.pseudoLabels?.warmup == 10 && s.pseudoLabels?.every == 10)
    #expect(s.optimizer.schedule?.warmup == 4)
    #expect(s.evalEvery == 20 && s.logEvery == 6 && s.checkpointEvery == 16)
    #expect(changed.map(\.description).contains("pseudo_labels.warmup 5->10"))
    #expect(changed.count == 6)
    let down = c.scaled(toSteps: 2).config
    #expect(down.pseudoLabels?.every == 1 && down.pseudoLabels?.warmup == 1 && down.logEvery == 1)
    let same = c.scaled(toSteps: 20)
    #expect(same.config == c && same.changed.isEmpty)
  }

  @Test("the resolved config writes out the run's values and defaults and loads back")
  func resolved() throws {
    let c = try Self.load(["optimizer.lr=0.02"])
    var options = RunOptions(
      method: .uniform, seed: 7, dataSeed: 9, steps: 20, outDir: "out", dataRoot: "/data",
      configPath: "c.yaml")
    options.progress = false
    let r = c.resolved(options: options)
    let text = try r.yaml()
    #expect(text.contains("lr: 0.02"), "\(text)")
    #expect(text.contains("momentum: 0.9") && text.contains("method: uniform") && text.contains("data_root: /data"))
    let back = try TrainConfig.parse(yaml: text, file: "config.resolved.yaml")
    #expect(back == r)
    #expect(back.domains == c.domains && !back.domains.isEmpty)
    #expect(back.sources[1].batchSize == 32 && back.evalEvery == 2 && back.seed == 7 && back.dataSeed == 9)
  }
}
