/// Accumulated wall time per layer and pass, filled when a profile is
/// handed to `Sequential.forward` / `backward` (`gradmix bench engine --profile`).
public final class LayerProfile {
  public private(set) var forwardSeconds: [Double]
  public private(set) var backwardSeconds: [Double]
  public let tokens: [String]

  public init(model: Sequential) {
    tokens = model.layers.map(\.token)
    forwardSeconds = Array(repeating: 0, count: model.layers.count)
    backwardSeconds = Array(repeating: 0, count: model.layers.count)
  }

  func addForward(_ layer: Int, _ seconds: Double) { forwardSeconds[layer] += seconds }
  func addBackward(_ layer: Int, _ seconds: Double) { backwardSeconds[layer] += seconds }

  public func reset() {
    for i in forwardSeconds.indices { forwardSeconds[i] = 0; backwardSeconds[i] = 0 }
  }
}
