extension Sequential {
  /// Fills `parameters` reproducibly from `seed`.
  ///
  /// Weights of a layer followed by a ReLU get He-normal initialisation
  /// (std = sqrt(2 / fan_in), He et al. 2015); other weights (the logits
  /// layer) get LeCun-normal (std = sqrt(1 / fan_in)); biases start at zero.
  /// fan_in is C*KH*KW for a convolution and the input size for a dense
  /// layer. Each layer draws from its own stream (seed, layer index), so
  /// adding a layer does not change the others.
  public func initialize(_ parameters: FlatBuffer, seed: UInt64) {
    precondition(parameters.count == layout.count,
      "The parameter buffer has \(parameters.count) floats, the model \(layout.count).")
    var group = 0
    for (i, layer) in layers.enumerated() where layer.parameterCount > 0 {
      let followedByReLU: Bool
      switch layer {
      case let c as Conv2D: followedByReLU = c.fusedReLU || nextIsReLU(i)
      case let d as Dense: followedByReLU = d.fusedReLU || nextIsReLU(i)
      default: followedByReLU = nextIsReLU(i)
      }
      var rng = RNG(seed: seed &+ 0x5151_0000 &* UInt64(group + 1))
      for entry in layout.entries where entry.layer == group {
        let slice = parameters.slice(entry.range)
        if entry.name.hasSuffix(".bias") {
          slice.update(repeating: 0)
        } else {
          let fanIn = entry.shape.dropFirst().reduce(1, *)
          let std = ((followedByReLU ? 2 : 1) / Float(fanIn)).squareRoot()
          for j in slice.indices { slice[j] = rng.normal() * std }
        }
      }
      group += 1
    }
  }

  private func nextIsReLU(_ i: Int) -> Bool {
    i + 1 < layers.count && layers[i + 1] is ReLU
  }
}
