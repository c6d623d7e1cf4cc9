import Yams

/// The keys a configuration may use, checked before decoding so a typo
/// (`bach_size`) is an error naming the key, not a silently ignored line.
indirect enum KeySchema: Sendable {
  /// A scalar or any value not checked further.
  case value
  /// A mapping with exactly these optional keys.
  case map([String: KeySchema])
  /// A list whose items follow the schema.
  case list(KeySchema)
  /// A mapping from free names to values (e.g. `domains:`, `label_map:`);
  /// the values are checked elsewhere.
  case freeMap

  /// The schema of ``TrainConfig``.
  static let trainConfig: KeySchema = .map([
    "model": .map([
      "spec": .value, "input": .value, "init": .value, "init_skip": .list(.value), "freeze": .list(.value),
    ]),
    "data_root": .value, "seed": .value, "data_seed": .value, "steps": .value, "classes": .value,
    "method": .value, "domains": .freeMap, "batch_size": .value,
    "sources": .list(
      .map([
        "name": .value, "domain": .value, "split": .value, "classes": .value, "label_map": .freeMap,
        "limit": .value, "batch_size": .value,
      ])),
    "target": .map([
      "domain": .value, "split": .value, "test_split": .value, "labelled_per_class": .value, "unlabelled": .value,
      "test": .value,
      "validation": .value, "classes": .value, "batch_size": .value, "as_source": .value, "source_batch_size": .value,
    ]),
    "optimizer": .map([
      "lr": .value, "momentum": .value, "weight_decay": .value, "nesterov": .value, "layer_lr": .freeMap,
      "schedule": .map(["kind": .value, "every": .value, "gamma": .value, "warmup": .value, "min_factor": .value]),
    ]),
    "adaptive_lr": .map(["enabled": .value, "beta": .value, "min_scale": .value, "max_scale": .value]),
    "pseudo_labels": .map([
      "warmup": .value, "every": .value, "threshold": .value, "per_class_cap": .value,
      "batch_size": .value,
    ]),
    "finetune_source_fraction": .value,
    "weighting": .map([
      "smoothing": .value, "hold": .value, "label_gate": .value, "label_confidence": .value,
      "label_match": .value, "tawt_rate": .value,
    ]),
    "augment": .map(["max_shift": .value]),
    "eval_every": .value, "log_every": .value, "checkpoint_every": .value, "keep_checkpoints": .value,
  ])

  /// Every key path this schema accepts, a list's items as `[]`
  /// (`sources[].batch_size`), a free mapping as one key (`domains`); sorted.
  /// The resolved-config test sets each of them (TrainConfigRoundTripTests).
  var keyPaths: [String] {
    func walk(_ schema: KeySchema, _ path: String, _ out: inout [String]) {
      switch schema {
      case .value, .freeMap: out.append(path)
      case .list(let item): walk(item, path + "[]", &out)
      case .map(let keys): for (k, v) in keys { walk(v, path.isEmpty ? k : "\(path).\(k)", &out) }
      }
    }
    var out: [String] = []
    walk(self, "", &out)
    return out.sorted()
  }

  /// Keys that configs once accepted, by path, with what to do instead: the
  /// rule clean-up of 2026-12-05 removed the experiments that were inert
  /// under the default (docs/EXPERIMENTS.md). Such a key is still an unknown
  /// key (the run would not do what an old config asked), but the error says
  /// why and how to fix it.
  static let removed: [String: String] = {
    let inert = "removed 2026-12-05 (docs/EXPERIMENTS.md): it was inert under the default; delete it"
    let weighting = ["label_floor", "target_cap", "magnitude", "label_classes", "sharpness", "prior", "gate"]
    var keys: [String: String] = ["target.disjoint_meta": inert, "weighting.layer_share": inert]
    for key in weighting { keys["weighting." + key] = inert }
    // The layer-wise weights the default no longer used (docs/EXPERIMENTS.md, 2026-12-05, issue 26).
    let layerwise = "removed 2026-12-05 (docs/EXPERIMENTS.md): it shaped only mix: layerwise, which went; delete it"
    keys["weighting.score"] = layerwise
    keys["weighting.confidence"] = layerwise
    keys["weight_score"] =
      "removed 2026-12-05 (docs/EXPERIMENTS.md): the source-norm score was an experiment no method used; delete it"
    keys["weighting.mix"] =
      "removed 2026-12-05 (docs/EXPERIMENTS.md): the rule always mixes shares 1/K with projection (mix: layerwise went); delete it"
    return keys
  }()

  /// Throws ``ConfigError`` for the first key not in the schema.
  func check(_ node: Node, path: String, file: String) throws {
    switch (self, node) {
    case (.map(let keys), .mapping(let mapping)):
      for (keyNode, value) in mapping {
        let key = keyNode.string ?? "\(keyNode)"
        let here = path.isEmpty ? key : "\(path).\(key)"
        guard let sub = keys[key] else {
          let hint =
            KeySchema.removed[here].map { " (\($0))" }
            ?? KeySchema.closest(key, in: Array(keys.keys)).map { " (did you mean '\($0)'?)" } ?? ""
          throw ConfigError(file: file, field: here, "unknown key\(hint)")
        }
        try sub.check(value, path: here, file: file)
      }
    case (.map, _):
      throw ConfigError(file: file, field: path, "expected a mapping of keys to values")
    case (.list(let item), .sequence(let seq)):
      for (i, value) in seq.enumerated() { try item.check(value, path: "\(path)[\(i)]", file: file) }
    case (.list, _):
      throw ConfigError(file: file, field: path, "expected a list")
    case (.freeMap, .mapping), (.value, _):
      return
    case (.freeMap, _):
      throw ConfigError(file: file, field: path, "expected a mapping")
    }
  }

  /// The known key within edit distance 2 of `key`, if any.
  static func closest(_ key: String, in known: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
      var row = Array(0...b.count)
      for i in 1...max(a.count, 1) where !a.isEmpty {
        var prev = row[0]
        row[0] = i
        for j in 1...max(b.count, 1) where !b.isEmpty {
          let cur = row[j]
          row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
          prev = cur
        }
      }
      return row[b.count]
    }
    let scored = known.map { ($0, distance(Array(key), Array($0))) }.filter { $0.1 <= 2 }
    return scored.min { $0.1 < $1.1 }?.0
  }
}
