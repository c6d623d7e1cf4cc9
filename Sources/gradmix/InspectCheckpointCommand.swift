import ArgumentParser
import Foundation
import GradMixEngine

/// `gradmix inspect-checkpoint FILE`: the sidecar and every tensor of a checkpoint.
struct InspectCheckpointCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect-checkpoint",
    abstract: "Validate a checkpoint and list its metadata and tensors.")

  @Argument(help: "The checkpoint's .safetensors file (its .json sidecar must sit next to it).")
  var file: String

  func run() throws {
    do {
      let meta = try Checkpoint.readMetadata(at: file)
      let model = try Sequential(spec: meta.spec, inputShape: Shape(meta.inputShape))
      let loaded = try Checkpoint.load(from: file, for: model)
      print("checkpoint: \(file)")
      print("model:      \(meta.spec) on \(Shape(meta.inputShape))")
      print("step:       \(meta.step)")
      if let o = meta.optimizer {
        print("optimizer:  SGD momentum \(o.momentum), weight decay \(o.weightDecay)\(o.nesterov ? ", nesterov" : "")")
      }
      if let lr = meta.baseLearningRate { print("base lr:    \(lr), schedule \(meta.schedule?.description ?? "none")") }
      for (k, v) in meta.extra.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
      print("tensors (\(model.parameterCount) parameters, velocity \(meta.hasVelocity ? "saved" : "not saved")):")
      for e in model.layout.entries {
        let v = loaded.parameters.slice(e.range)
        let l2 = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        print(
          "  \(e.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(describing: e.shape).padding(toLength: 16, withPad: " ", startingAt: 0)) l2 \(String(format: "%.4f", l2))"
        )
      }
    } catch let e as CheckpointError {
      throw ValidationError(e.description)
    } catch let e as ModelSpecError {
      throw ValidationError("\(Checkpoint.sidecarPath(for: file)): \(e.description)")
    }
  }
}
