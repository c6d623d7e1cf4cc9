/// Why a model spec string cannot be built on an input shape.
public enum ModelSpecError: Error, Equatable, CustomStringConvertible {
  case empty
  case unknownToken(String, position: Int)
  case badNumber(token: String, reason: String)
  case doesNotFit(layer: String, input: Shape, reason: String)
  case noOutput

  public var description: String {
    switch self {
    case .empty:
      return "the model spec is empty (expected tokens like conv32k5-relu-pool2-fc10)"
    case .unknownToken(let t, let p):
      return
        "unknown token '\(t)' at position \(p + 1) of the model spec (known: conv<C>k<K>[s<S>][p<P>], pool<K>[s<S>], avgpool<K>[s<S>], gap, bn, res<C>[s<S>], relu, fc<N>, flatten, dropout<rate>)"
    case .badNumber(let t, let r):
      return "bad number in model spec token '\(t)': \(r)"
    case .doesNotFit(let l, let input, let r):
      return "layer '\(l)' does not fit its input \(input): \(r)"
    case .noOutput:
      return "the model spec must end in a layer with outputs (for example fc10)"
    }
  }
}
