import Foundation
import GradMixData
import GradMixEngine
import Yams

/// A training run's configuration, read from a YAML file (see
/// `experiments/digits/config.yaml` for a commented example and
/// docs/CONFIG.md for every key).
public struct TrainConfig: Codable, Equatable, Sendable {
  public struct Model: Codable, Equatable, Sendable {
    public var spec: String
    public var input: [Int]?
    /// `init`: a safetensors file of starting weights (``PretrainedWeights``);
    /// a relative path resolves against the config file's folder.
    public var initPath: String?
    /// `init_skip`: layers (names or globs) left at their random initialisation.
    public var initSkip: [String]?
    /// `freeze`: layers (names or globs) that do not train.
    public var freeze: [String]?
    enum CodingKeys: String, CodingKey {
      case spec, input, freeze
      case initPath = "init", initSkip = "init_skip"
    }
  }

  /// A labelled source: a domain, a split of it, and a task (class subset and label map).
  public struct Source: Codable, Equatable, Sendable {
    public var name: String?
    public var domain: String
    public var split: Split?
    public var classes: [Int]?
    public var labelMap: [Int: Int]?
    /// At most this many images (after the class filter), drawn by seed.
    public var limit: Int?
    public var batchSize: Int?
    enum CodingKeys: String, CodingKey {
      case name, domain, split, classes, limit
      case labelMap = "label_map", batchSize = "batch_size"
    }
  }

  public struct Target: Codable, Equatable, Sendable {
    public var domain: String
    public var split: Split?
    /// Take the test set from this split of the domain instead of from `split`
    /// (e.g. an image folder's held-out `test` folder).
    public var testSplit: Split?
    public var labelledPerClass: Int
    public var unlabelled: Int
    public var test: Int
    /// Size of the validation set (held out of the unlabelled draw, never
    /// test images); nil: min(1000, what is left).
    public var validation: Int?
    /// The domain classes the target task has (nil: all `classes`); the
    /// model still has `classes` outputs, so a source may know classes the
    /// target lacks.
    public var classes: [Int]?
    /// Batch size of the meta (look-ahead) batch from the labelled set.
    public var batchSize: Int?
    /// Whether the labelled set also takes part as a source (own batches).
    public var asSource: Bool?
    public var sourceBatchSize: Int?
    enum CodingKeys: String, CodingKey {
      case domain, split, unlabelled, test, validation, classes
      case testSplit = "test_split"
      case labelledPerClass = "labelled_per_class", batchSize = "batch_size", asSource = "as_source"
      case sourceBatchSize = "source_batch_size"
    }
  }

  public struct Optimizer: Codable, Equatable, Sendable {
    public var lr: Float
    public var momentum: Float?
    public var weightDecay: Float?
    public var nesterov: Bool?
    public var schedule: Schedule?
    /// `layer_lr`: learning-rate multipliers by layer name (or glob).
    public var layerLR: [String: Float]?
    enum CodingKeys: String, CodingKey {
      case lr, momentum, nesterov, schedule
      case weightDecay = "weight_decay", layerLR = "layer_lr"
    }
  }

  public struct Schedule: Codable, Equatable, Sendable {
    /// constant, step or cosine.
    public var kind: String
    public var every: Int?
    public var gamma: Float?
    public var warmup: Int?
    public var minFactor: Float?
    enum CodingKeys: String, CodingKey {
      case kind, every, gamma, warmup
      case minFactor = "min_factor"
    }
  }

  /// The weighting rules' settings (docs/DESIGN.md, "The default rule").
  public struct Weighting: Codable, Equatable, Sendable {
    /// `gated-pcgrad`: EMA factor β of the label gate's scores over steps.
    public var smoothing: Double?
    /// `gated-pcgrad`: the first H steps mix the labelled target set alone.
    public var hold: Int?
    /// `gated-pcgrad`: a source whose label-score bound is ≤ 0 gets 0 in every layer.
    public var labelGate: Bool?
    /// `gated-pcgrad`: z of the label gate's bound.
    public var labelConfidence: Double?
    /// `gated-pcgrad`: the label gate also runs the per-class check (closes a source two of whose
    /// classes look like other target classes; ``GatedPCGradWeighting``); off by default, and refused,
    /// above ``GatedPCGradWeighting/classCheckLimit`` classes.
    public var labelMatch: Bool?
    /// `tawt`: the mirror-descent step η.
    public var tawtRate: Double?
    enum CodingKeys: String, CodingKey {
      case smoothing, hold
      case tawtRate = "tawt_rate", labelGate = "label_gate"
      case labelConfidence = "label_confidence", labelMatch = "label_match"
    }
  }

  public struct AdaptiveLR: Codable, Equatable, Sendable {
    /// Whether the rule methods use it (nil: only `gradmix`).
    public var enabled: Bool?
    public var beta: Double?
    public var minScale: Double?
    public var maxScale: Double?
    enum CodingKeys: String, CodingKey {
      case beta, enabled
      case minScale = "min_scale", maxScale = "max_scale"
    }
  }

  public struct PseudoLabels: Codable, Equatable, Sendable {
    /// First labelling after this many steps.
    public var warmup: Int
    /// Relabel every this many steps.
    public var every: Int
    /// Minimum softmax confidence.
    public var threshold: Float
    /// At most this many pseudo-labelled samples per class (most confident first).
    public var perClassCap: Int
    public var batchSize: Int?
    enum CodingKeys: String, CodingKey {
      case warmup, every, threshold
      case perClassCap = "per_class_cap", batchSize = "batch_size"
    }
  }

  public struct Augment: Codable, Equatable, Sendable {
    /// Random translation by up to this many pixels (zero fill).
    public var maxShift: Int
    enum CodingKeys: String, CodingKey { case maxShift = "max_shift" }
  }

  public var model: Model
  public var dataRoot: String?
  public var seed: UInt64?
  public var dataSeed: UInt64?
  public var steps: Int
  public var classes: Int
  public var method: String?
  /// Custom domains (the `domains:` mapping), read by `DomainCatalog.parseDomains`.
  public var domains: [String: DomainSpec] = [:]
  public var sources: [Source]
  public var target: Target
  public var batchSize: Int?
  public var optimizer: Optimizer
  public var adaptiveLR: AdaptiveLR?
  public var pseudoLabels: PseudoLabels?
  /// For `finetune`: the fraction of steps trained on the sources before the target.
  public var finetuneSourceFraction: Double?
  public var augment: Augment?
  /// Settings of the weighting rules (`gated-pcgrad`, `tawt`); nil: the defaults.
  public var weighting: Weighting?
  public var evalEvery: Int?
  public var logEvery: Int?
  public var checkpointEvery: Int?
  public var keepCheckpoints: Int?

  enum CodingKeys: String, CodingKey {
    case model, seed, steps, classes, method, sources, target, optimizer, augment
    case dataRoot = "data_root", dataSeed = "data_seed", batchSize = "batch_size"
    case adaptiveLR = "adaptive_lr", pseudoLabels = "pseudo_labels"
    case finetuneSourceFraction = "finetune_source_fraction"
    case weighting
    case evalEvery = "eval_every", logEvery = "log_every", checkpointEvery = "checkpoint_every"
    case keepCheckpoints = "keep_checkpoints"
  }
}
