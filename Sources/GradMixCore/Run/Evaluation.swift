import GradMixData
import GradMixEngine

/// Evaluation of saved parameters outside a training run (`gradmix eval`).
public enum Evaluation {
  /// Accuracy and loss on the target test split the config and data seed
  /// define; `state` is the model state (BatchNorm running statistics) of
  /// the checkpoint, needed for a model with BatchNorm.
  public static func testAccuracy(
    config: TrainConfig, parameters: FlatBuffer, state: FlatBuffer? = nil,
    model: Sequential, dataRoot: String, dataSeed: UInt64
  ) throws -> (accuracy: Double, loss: Double, count: Int) {
    let catalog = try DomainCatalog(dataRoot: dataRoot, custom: config.domains, sampleShape: config.sampleShape)
    let split = try RunData.target(config: config, catalog: catalog, dataSeed: dataSeed)
    let r = Evaluator(model: model).evaluate(split.test, parameters: parameters, state: state)
    return (r.accuracy, r.loss, split.test.count)
  }
}
