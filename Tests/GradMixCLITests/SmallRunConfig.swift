import GradMixData

/// The small two-source run most CLI tests train: the digit CNN on two halves of the classes
/// (mnist 0-4, syndigits 5-9), target mnist-m, on one shared synthetic data root. A run of a few
/// steps takes about a second; the keys the tests vary are parameters.
enum SmallRunConfig {
  /// The synthetic data root (`gradmix data synthesize`), made once per test process and only read.
  static let root: String = { (try? SyntheticDataRoot.make()) ?? "/nonexistent" }()

  /// The config text: `steps` steps at learning rate `lr`, evaluating and logging every `evalEvery`
  /// and `logEvery` steps, then the lines of `extra` (e.g. `checkpoint_every: 2`).
  static func text(steps: Int, lr: String = "0.05", evalEvery: Int, logEvery: Int, extra: [String] = []) -> String {
    """
    model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
    classes: 10
    steps: \(steps)
    batch_size: 10
    sources:
      - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}
      - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}
    target: {domain: mnist-m, split: test, labelled_per_class: 3, unlabelled: 150, test: 200}
    optimizer: {lr: \(lr), momentum: 0.9}
    eval_every: \(evalEvery)
    log_every: \(logEvery)
    """ + extra.map { "\n" + $0 }.joined()
  }
}
