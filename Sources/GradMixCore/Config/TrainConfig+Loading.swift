import Foundation
import GradMixData
import GradMixEngine
import Yams

extension TrainConfig {
  /// Reads, checks and validates a YAML configuration.
  /// - Throws: ``ConfigError`` naming the file, the field and the fault.
  public static func load(path: String) throws -> TrainConfig {
    try parse(yaml: readText(path: path), file: path)
  }

  /// The text of a config file.
  /// - Throws: ``ConfigError`` if it is missing, a folder, unreadable or not UTF-8.
  public static func readText(path: String) throws -> String {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw ConfigError(file: path, field: "", "file not found")
    }
    guard !isDir.boolValue else { throw ConfigError(file: path, field: "", "is a directory, not a config file") }
    guard
      (try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)[
        .type] as? FileAttributeType) == .typeRegular
    else {
      throw ConfigError(file: path, field: "", "is not a regular file (a device, pipe or socket?)")
    }
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw ConfigError(file: path, field: "", "cannot be read (permissions?) or is not UTF-8 text")
    }
    return text
  }

  /// Parses a configuration from YAML text; `file` names it in errors.
  public static func parse(yaml text: String, file: String) throws -> TrainConfig {
    let node: Node
    do {
      guard let n = try Yams.compose(yaml: text) else { throw ConfigError(file: file, field: "", "the file is empty") }
      node = n
    } catch let e as ConfigError {
      throw e
    } catch {
      throw ConfigError(file: file, field: "", "not valid YAML: \(error)")
    }
    try KeySchema.trainConfig.check(node, path: "", file: file)
    var config: TrainConfig
    do {
      config = try YAMLDecoder().decode(TrainConfig.self, from: node)
    } catch let e as DecodingError {
      throw ConfigError(file: file, field: e.fieldPath, e.reason)
    }
    do {
      config.domains = try DomainCatalog.parseDomains(yaml: text, file: file)
      _ = try DomainCatalog(dataRoot: "", custom: config.domains)  // checks bases, ops and parameters
    } catch let e as DataError {
      throw ConfigError(file: file, field: "", e.description)
    }
    try config.validate(file: file)
    return config
  }

  /// Checks every value the decoder cannot: ranges, names, and that the
  /// model fits its input and has one output per class.
  public func validate(file: String) throws {
    func fail(_ field: String, _ detail: String) -> ConfigError { ConfigError(file: file, field: field, detail) }
    guard steps > 0 else { throw fail("steps", "must be positive, got \(steps)") }
    guard classes >= 2 else { throw fail("classes", "must be at least 2, got \(classes)") }
    if let method, Method(rawValue: method) == nil { throw fail("method", Method.unknownMessage(method)) }
    let input = model.input ?? Defaults.input
    do {
      _ = try DomainCatalog(dataRoot: "", custom: domains, sampleShape: input)
    } catch let e as DataError {
      throw ConfigError(file: file, field: "", e.description)
    }
    do {
      let m = try Sequential(spec: model.spec, inputShape: Shape(input))
      guard m.classCount == classes else {
        throw fail("model.spec", "the model has \(m.classCount) outputs but the target has \(classes) classes")
      }
      try validateTransfer(m, file: file)
    } catch let e as ModelSpecError {
      throw fail("model.spec", e.description)
    }
    if let b = batchSize, b <= 0 { throw fail("batch_size", "must be positive, got \(b)") }
    guard !sources.isEmpty else { throw fail("sources", "at least one source is needed") }
    let known = Set(DomainCatalog.predefined.keys).union(domains.keys)
    var names = Set<String>()
    for (i, s) in sources.enumerated() {
      let f = "sources[\(i)]"
      guard known.contains(s.domain) else {
        throw fail("\(f).domain", "unknown domain '\(s.domain)' (known: \(known.sorted().joined(separator: ", ")))")
      }
      guard names.insert(sourceName(i)).inserted else {
        throw fail("\(f).name", "duplicate source name '\(sourceName(i))'")
      }
      if let c = s.classes {
        guard !c.isEmpty, Set(c).count == c.count else {
          throw fail("\(f).classes", "must be a non-empty list without repeats")
        }
        if s.labelMap == nil, let bad = c.first(where: { $0 < 0 || $0 >= classes }) {
          throw fail("\(f).classes", "class \(bad) is outside the target's 0..<\(classes) (add a label_map)")
        }
      }
      if let map = s.labelMap, let bad = map.first(where: { $0.value < 0 || $0.value >= classes }) {
        throw fail("\(f).label_map", "maps \(bad.key) to \(bad.value), outside the target's 0..<\(classes)")
      }
      if let l = s.limit, l <= 0 { throw fail("\(f).limit", "must be positive, got \(l)") }
      if let b = s.batchSize, b <= 0 { throw fail("\(f).batch_size", "must be positive, got \(b)") }
    }
    guard known.contains(target.domain) else {
      throw fail(
        "target.domain", "unknown domain '\(target.domain)' (known: \(known.sorted().joined(separator: ", ")))")
    }
    if let ts = target.testSplit, ts == (target.split ?? Defaults.targetSplit) {
      throw fail(
        "target.test_split",
        "is the same split as target.split (\(ts.rawValue)); the test set would share images with the labelled and unlabelled sets"
      )
    }
    guard target.labelledPerClass > 0 else {
      throw fail("target.labelled_per_class", "must be positive, got \(target.labelledPerClass)")
    }
    guard target.unlabelled >= 0 else {
      throw fail("target.unlabelled", "must not be negative, got \(target.unlabelled)")
    }
    guard target.test > 0 else { throw fail("target.test", "must be positive, got \(target.test)") }
    if let v = target.validation, v < 0 { throw fail("target.validation", "must not be negative, got \(v)") }
    if let c = target.classes {
      guard !c.isEmpty, Set(c).count == c.count else {
        throw fail("target.classes", "must be a non-empty list without repeats")
      }
      if let bad = c.first(where: { $0 < 0 || $0 >= classes }) {
        throw fail("target.classes", "class \(bad) is outside 0..<\(classes)")
      }
    }
    if let b = target.batchSize, b <= 0 { throw fail("target.batch_size", "must be positive, got \(b)") }
    if let b = target.sourceBatchSize, b <= 0 { throw fail("target.source_batch_size", "must be positive, got \(b)") }
    guard optimizer.lr > 0, optimizer.lr.isFinite else {
      throw fail("optimizer.lr", "must be positive, got \(optimizer.lr)")
    }
    if let m = optimizer.momentum, !(m >= 0 && m < 1) {
      throw fail("optimizer.momentum", "must be in [0, 1), got \(m)")
    }
    if let w = optimizer.weightDecay, !(w >= 0) {
      throw fail("optimizer.weight_decay", "must not be negative, got \(w)")
    }
    _ = try learningRateSchedule(file: file)
    if let a = adaptiveLR {
      if let b = a.beta, !(b >= 0 && b < 1) { throw fail("adaptive_lr.beta", "must be in [0, 1), got \(b)") }
      if let m = a.minScale, !(m > 0 && m <= 1) { throw fail("adaptive_lr.min_scale", "must be in (0, 1], got \(m)") }
      if let m = a.maxScale, !(m >= 1) { throw fail("adaptive_lr.max_scale", "must be at least 1, got \(m)") }
    }
    if let p = pseudoLabels {
      guard p.warmup >= 0 else { throw fail("pseudo_labels.warmup", "must not be negative, got \(p.warmup)") }
      guard p.every > 0 else { throw fail("pseudo_labels.every", "must be positive, got \(p.every)") }
      guard p.threshold > 0 && p.threshold <= 1 else {
        throw fail("pseudo_labels.threshold", "must be in (0, 1], got \(p.threshold)")
      }
      guard p.perClassCap > 0 else {
        throw fail("pseudo_labels.per_class_cap", "must be positive, got \(p.perClassCap)")
      }
      if let b = p.batchSize, b <= 0 { throw fail("pseudo_labels.batch_size", "must be positive, got \(b)") }
      guard target.unlabelled > 0 else { throw fail("pseudo_labels", "needs target.unlabelled > 0") }
    }
    if let w = weighting {
      if let b = w.smoothing, !(b >= 0 && b < 1) { throw fail("weighting.smoothing", "must be in [0, 1), got \(b)") }
      if let r = w.tawtRate, !(r > 0 && r.isFinite) { throw fail("weighting.tawt_rate", "must be positive, got \(r)") }
      if let h = w.hold, h < 0 { throw fail("weighting.hold", "must not be negative, got \(h)") }
      if w.labelMatch == true && w.labelGate == false {
        throw fail("weighting.label_match", "is a part of the label gate; it needs weighting.label_gate: true")
      }
      if let z = w.labelConfidence, !(z >= 0 && z.isFinite) {
        throw fail("weighting.label_confidence", "must not be negative, got \(z)")
      }
      let limit = GatedPCGradWeighting.classCheckLimit
      if w.labelMatch == true && classes > limit {
        throw fail(
          "weighting.label_match",
          "the per-class check keeps \(classes)² values per source and step; it takes at most \(limit) classes, "
            + "this config has \(classes) (set label_match: false)")
      }
    }
    if let f = finetuneSourceFraction, !(f > 0 && f < 1) {
      throw fail("finetune_source_fraction", "must be in (0, 1), got \(f)")
    }
    if let a = augment, a.maxShift < 0 { throw fail("augment.max_shift", "must not be negative, got \(a.maxShift)") }
    for (name, v) in [
      ("eval_every", evalEvery), ("log_every", logEvery), ("checkpoint_every", checkpointEvery),
      ("keep_checkpoints", keepCheckpoints),
    ] {
      if let v, v <= 0 { throw fail(name, "must be positive, got \(v)") }
    }
  }

  /// The learning-rate schedule the `optimizer.schedule` block describes,
  /// for a run of `steps` steps (default: the config's).
  /// A warm-up longer than a shortened run (`--steps`) is cut to the run.
  public func learningRateSchedule(file: String = "config", steps: Int? = nil) throws -> LearningRateSchedule {
    let override = steps
    let steps = steps ?? self.steps
    guard let s = optimizer.schedule else { return .constant }
    func fail(_ field: String, _ detail: String) -> ConfigError {
      ConfigError(file: file, field: "optimizer.schedule.\(field)", detail)
    }
    switch s.kind {
    case "constant":
      return .constant
    case "step":
      guard let every = s.every, every > 0 else { throw fail("every", "a step schedule needs a positive 'every'") }
      let gamma = s.gamma ?? Defaults.scheduleGamma
      guard gamma > 0 && gamma <= 1 else { throw fail("gamma", "must be in (0, 1], got \(gamma)") }
      return .step(every: every, gamma: gamma)
    case "cosine":
      var warmup = s.warmup ?? Defaults.scheduleWarmup
      let minFactor = s.minFactor ?? Defaults.scheduleMinFactor
      if override != nil { warmup = min(warmup, steps - 1) }
      guard warmup >= 0 && warmup < steps else { throw fail("warmup", "must be in [0, steps), got \(warmup)") }
      guard minFactor >= 0 && minFactor <= 1 else { throw fail("min_factor", "must be in [0, 1], got \(minFactor)") }
      return .cosine(total: steps, warmup: warmup, minFactor: minFactor)
    default:
      throw fail("kind", "unknown schedule '\(s.kind)' (known: constant, step, cosine)")
    }
  }

  /// One sample's shape: `model.input`, or the digits benchmark's `[3, 28, 28]`.
  public var sampleShape: [Int] { model.input ?? DomainCatalog.defaultSampleShape }

  /// The name of source i (its `name`, or `<domain>[<classes>]`).
  public func sourceName(_ i: Int) -> String {
    let s = sources[i]
    if let n = s.name { return n }
    guard let c = s.classes else { return s.domain }
    let sorted = c.sorted()
    if sorted.count > 2, sorted.last! - sorted.first! == sorted.count - 1 {
      return "\(s.domain)[\(sorted.first!)-\(sorted.last!)]"
    }
    return "\(s.domain)[\(sorted.map(String.init).joined(separator: ","))]"
  }
}

extension DecodingError {
  /// The failing field as `a.b[2].c`.
  var fieldPath: String {
    let path: [CodingKey]
    switch self {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
    case .keyNotFound(let key, let c): path = c.codingPath + [key]
    @unknown default: path = []
    }
    var s = ""
    for k in path {
      if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
    }
    return s
  }

  var reason: String {
    switch self {
    case .typeMismatch(let t, _): return "expected a value of type \(t)"
    case .valueNotFound(let t, _): return "missing value of type \(t)"
    case .keyNotFound: return "this key is required"
    case .dataCorrupted(let c):
      // Foundation's "Cannot initialize Split from invalid String value x": say which values are known.
      let d = c.debugDescription
      if d.hasPrefix("Cannot initialize Split from invalid String value") {
        return
          "unknown split '\(d.split(separator: " ").last ?? "")' (known: \(Split.allCases.map(\.rawValue).joined(separator: ", ")))"
      }
      if d.hasPrefix("Cannot initialize"), let v = d.split(separator: " ").last {
        return "invalid value '\(v)'"
      }
      return d
    @unknown default: return "\(self)"
    }
  }
}
