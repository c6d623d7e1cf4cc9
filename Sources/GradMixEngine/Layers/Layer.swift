/// Whether a forward pass trains (dropout active; BatchNorm normalises by
/// the batch statistics and updates its running statistics) or evaluates
/// (BatchNorm normalises by the running statistics).
public enum Mode: Sendable { case train, eval }

/// How ``Sequential/initialize(_:seed:)`` fills a parameter tensor.
public enum ParameterFill: Equatable, Sendable {
  /// Normal with a standard deviation from the fan-in (He or LeCun).
  case fanIn
  /// All zeros (biases, BatchNorm shift).
  case zero
  /// All ones (BatchNorm scale).
  case one
}

/// A named parameter tensor of a layer, e.g. `("weight", [32, 3, 5, 5])`.
///
/// Also used for model-state tensors (BatchNorm running statistics), where
/// `fill` is the initial value. A shape `[]` is a scalar (one float).
public struct ParameterShape: Equatable, Sendable {
  public let name: String
  public let shape: [Int]
  public let fill: ParameterFill
  /// `fill` defaults to `.zero` for a tensor named `bias`, else `.fanIn`.
  public init(_ name: String, _ shape: [Int], fill: ParameterFill? = nil) {
    self.name = name; self.shape = shape
    self.fill = fill ?? (name == "bias" ? .zero : .fanIn)
  }
  public var count: Int { shape.reduce(1, *) }
}

/// A layer with a hand-written backward pass (torch/nn's `updateOutput`,
/// `updateGradInput`, `accGradParameters`).
///
/// A layer is a value holding only configuration. It owns no parameters and
/// no buffers: `forward` and `backward` receive pointers to the layer's slice
/// of the model's parameter and gradient buffers, to the activations kept by
/// a ``Workspace``, and to a scratch area that stays untouched between a
/// forward pass and its backward pass (its cache, e.g. im2col columns).
///
/// Buffers are NCHW `Float`, batch first; `input` and `output` shapes below
/// are per sample (see ``Shape``).
public protocol Layer: Sendable, CustomStringConvertible {
  /// The token of the model spec this layer came from, e.g. `conv32k5`.
  var token: String { get }

  /// The layer's parameter tensors, in storage order ([] if none).
  var parameterShapes: [ParameterShape] { get }

  /// The layer's model-state tensors (BatchNorm running statistics), in
  /// storage order ([] if none). State is not a parameter: it is not
  /// differentiated, optimised or mixed; it lives in the model's separate
  /// state buffer (``Sequential/stateLayout``).
  var stateShapes: [ParameterShape] { get }

  /// The output shape for an input shape.
  /// - Throws: ``ModelSpecError/doesNotFit(layer:input:reason:)`` if the
  ///   layer cannot take that input.
  func outputShape(for input: Shape) throws -> Shape

  /// Number of scratch floats this layer needs for `batch` samples.
  func scratchCount(input: Shape, batch: Int) -> Int

  /// True when the output is the input reinterpreted (Flatten): the
  /// workspace then shares one buffer and both passes are skipped.
  var isView: Bool { get }

  /// Computes `output` [N, out] from `input` [N, in], reading and (in
  /// `.train` mode) updating the layer's slice of the model state `state`
  /// (``stateShapes``; a layer without state never touches it, see
  /// ``StatelessLayer``).
  func forward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int, mode: Mode, rng: inout RNG)

  /// Writes dL/d(input) into `dInput` (if non-nil; it is nil for the first
  /// layer) and *adds* dL/d(parameters) into `dParameters` (if non-nil; it is
  /// nil for a frozen layer, `model.freeze`, whose parameter gradient is then
  /// not computed at all).
  func backward(
    dInput: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int)
}

extension Layer {
  public var parameterShapes: [ParameterShape] { [] }
  public var stateShapes: [ParameterShape] { [] }
  /// Total model-state count of the layer.
  public var stateCount: Int { stateShapes.reduce(0) { $0 + $1.count } }

  public var isView: Bool { false }
  public func scratchCount(input: Shape, batch: Int) -> Int { 0 }
  public var description: String { token }
  /// Total parameter count of the layer.
  public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.count } }
}

/// A layer without model state (every layer but ``BatchNorm`` and
/// ``ResidualBlock``): it implements the forward pass without the state
/// pointer, and ``Layer``'s stateful one calls it.
///
/// Choice: two protocols rather than one with both passes, so that a layer
/// with state implements only the pass that can serve it and no
/// conformance has a method that must not be called.
public protocol StatelessLayer: Layer {
  /// Computes `output` [N, out] from `input` [N, in].
  func forward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int, mode: Mode, rng: inout RNG)
}

extension StatelessLayer {
  public func forward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int, mode: Mode, rng: inout RNG
  ) {
    forward(
      output: output, input: input, parameters: parameters, scratch: scratch, inputShape: inputShape,
      batch: batch, mode: mode, rng: &rng)
  }
}

/// A layer without parameters or model state (pooling, ReLU, dropout; S4TF's
/// `ParameterlessLayer`): it implements both passes without the parameter
/// pointers, and its backward pass runs only when dL/d(input) is wanted.
///
/// Choice: a parameterless layer has nothing to add to a parameter gradient,
/// so when `dInput` is nil (the lowest layer a backward pass reaches) it has
/// no work; that skip is written here once, not in every layer.
public protocol ParameterlessLayer: StatelessLayer {
  /// Computes `output` [N, out] from `input` [N, in].
  func forward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int, mode: Mode, rng: inout RNG)

  /// Writes dL/d(input) into `dInput`.
  func backward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
    output: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, inputShape: Shape, batch: Int)
}

extension ParameterlessLayer {
  public func forward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int, mode: Mode, rng: inout RNG
  ) {
    forward(output: output, input: input, scratch: scratch, inputShape: inputShape, batch: batch, mode: mode, rng: &rng)
  }

  public func backward(
    dInput: UnsafeMutablePointer<Float>?, dParameters: UnsafeMutablePointer<Float>?,
    dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
    parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    inputShape: Shape, batch: Int
  ) {
    guard let dInput else { return }
    backward(
      dInput: dInput, dOutput: dOutput, input: input, output: output, scratch: scratch, inputShape: inputShape,
      batch: batch)
  }
}
