extension Sequential {
  /// Fills `parameters` reproducibly from `seed`.
  ///
  /// Weights of a layer followed by a ReLU (directly or through a `bn`) get
  /// He-normal initialisation (std = sqrt(2 / fan_in), He et al. 2015);
  /// other weights (the logits layer) get LeCun-normal (std =
  /// sqrt(1 / fan_in)); biases start at zero. Every convolution of a
  /// residual block gets He-normal (each ends in a ReLU). BatchNorm scales
  /// start at 1 and shifts at 0 (PyTorch's defaults). fan_in is C*KH*KW for
  /// a convolution and the input size for a dense layer. Each parameterised
  /// layer draws from its own stream (seed, layer index), so adding a layer
  /// does not change the others.
  public func initialize(_ parameters: FlatBuffer, seed: UInt64) {
    precondition(
      parameters.count == layout.count,
      "The parameter buffer has \(parameters.count) floats, the model \(layout.count).")
    var rngs: [Int: RNG] = [:]
    for (i, layer) in layers.enumerated() where layer.parameterCount > 0 {
      guard let group = parameterLayer[i] else { continue }
      var rng = rngs[group] ?? RNG(seed: seed &+ 0x5151_0000 &* UInt64(group + 1))
      let followedByReLU: Bool
      switch layer {
      case let c as Conv2D: followedByReLU = c.fusedReLU || nextIsReLU(i)
      case let d as Dense: followedByReLU = d.fusedReLU || nextIsReLU(i)
      case is ConvPool, is ResidualBlock: followedByReLU = true  // ConvPool: its conv has the ReLU
      default: followedByReLU = nextIsReLU(i)
      }
      var at = parameterOffsets[i]
      for t in layer.parameterShapes {
        let slice = parameters.slice(at..<(at + t.count))
        switch t.fill {
        case .zero: slice.update(repeating: 0)
        case .one: slice.update(repeating: 1)
        case .fanIn:
          let fanIn = t.shape.dropFirst().reduce(1, *)
          let std = ((followedByReLU ? 2 : 1) / Float(fanIn)).squareRoot()
          for j in slice.indices { slice[j] = rng.normal() * std }
        }
        at += t.count
      }
      rngs[group] = rng
    }
  }

  /// Whether layer i's output reaches a ReLU next, directly or through a
  /// BatchNorm (fused or not).
  private func nextIsReLU(_ i: Int) -> Bool {
    guard i + 1 < layers.count else { return false }
    if layers[i + 1] is ReLU { return true }
    if let bn = layers[i + 1] as? BatchNorm { return bn.fusedReLU || nextIsReLU(i + 1) }
    return false
  }
}
