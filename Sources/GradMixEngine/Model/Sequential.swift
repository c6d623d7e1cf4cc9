/// A feed-forward model built from a one-line spec on an input shape.
///
/// The model is configuration only: a list of ``Layer`` values, the shapes
/// between them and one ``ParameterLayout``. Parameters, gradients and
/// activations live in buffers the caller owns (``FlatBuffer``,
/// ``Workspace``), so several gradient buffers (one per GradMix source) can
/// be filled from one model and one parameter buffer.
///
/// A `relu` that follows a `conv`, `fc` or `bn` is fused into that layer (it
/// masks during the pass the layer makes anyway); pass `fuseReLU: false` to
/// keep every layer separate (the tests compare both).
///
/// Tensor names follow PyTorch modules, so a checkpoint is a state dict of
/// the network `scripts/reference/spec_torch.py` builds from the same spec:
/// `conv<i>`, `fc<i>`, `bn<i>` and `res<i>` count their own kind from 1.
/// BatchNorm running statistics are *model state*, not parameters: they
/// live in a separate buffer laid out by ``stateLayout`` (``makeState()``),
/// which `forward` reads and, in `.train` mode, updates.
public struct Sequential: Sendable {
  public let spec: String
  public let inputShape: Shape
  public let layers: [any Layer]
  /// `shapes[i]` is the input shape of layer i; `shapes[layers.count]` the output.
  public let shapes: [Shape]
  public let layout: ParameterLayout
  /// Where each BatchNorm running statistic lives in the state buffer (no
  /// entries for a model without `bn` or `res`).
  public let stateLayout: ParameterLayout
  /// Offset of layer i's parameters in the flat buffers (0 when it has none).
  let parameterOffsets: [Int]
  /// Offset of layer i's state in the state buffer (0 when it has none).
  let stateOffsets: [Int]
  /// The parameterised-layer index (`layout.layerRanges`) of layer i, or nil.
  let parameterLayer: [Int?]
  /// True for the first layer of its parameterised layer (a `bn` joined to
  /// the conv before it is not first): backward reports that layer done.
  let firstOfGroup: [Bool]
  /// `frozen[l]` for parameterised layer l (`model.freeze`); see ``freeze(_:)``.
  public private(set) var frozen: [Bool] = []

  /// Builds the model.
  /// - Throws: ``ModelSpecError`` if the spec does not parse or a layer does
  ///   not fit the shape it receives.
  /// `threads` is the number of threads the layers split their work over
  /// (default `BLAS.threads`).
  public init(spec: String, inputShape: Shape, fuseReLU: Bool = true, threads: Int? = nil) throws {
    BLAS.configure()
    let workers = threads ?? BLAS.threads
    let tokens = try LayerToken.parse(spec)
    var layers: [any Layer] = []
    var shapes: [Shape] = [inputShape]
    var groups: [(name: String, tensors: [(name: String, shape: [Int])])] = []
    var stateGroups: [(name: String, tensors: [(name: String, shape: [Int])])] = []
    var offsets: [Int] = [], stateOffsets: [Int] = []
    var groupOf: [Int?] = [], first: [Bool] = []
    var offset = 0, stateOffset = 0
    var convCount = 0, fcCount = 0, bnCount = 0, resCount = 0
    var current = inputShape
    var i = 0
    /// Appends a layer; `module` names its tensors; `join` adds them to the
    /// previous parameterised layer instead of starting a new one.
    func append(_ layer: any Layer, module: String? = nil, join: Bool = false) throws {
      let out = try layer.outputShape(for: current)
      layers.append(layer)
      offsets.append(offset)
      stateOffsets.append(stateOffset)
      if let module, layer.parameterCount > 0 {
        let tensors = layer.parameterShapes.map { (name: "\(module).\($0.name)", shape: $0.shape) }
        if join, !groups.isEmpty {
          groups[groups.count - 1].tensors += tensors
          groupOf.append(groups.count - 1)
          first.append(false)
        } else {
          groups.append((module, tensors))
          groupOf.append(groups.count - 1)
          first.append(true)
        }
        offset += layer.parameterCount
      } else {
        groupOf.append(nil)
        first.append(false)
      }
      if let module, layer.stateCount > 0 {
        stateGroups.append((module, layer.stateShapes.map { (name: "\(module).\($0.name)", shape: $0.shape) }))
        stateOffset += layer.stateCount
      }
      shapes.append(out)
      current = out
    }
    while i < tokens.count {
      let (text, token) = tokens[i]
      let reluNext = fuseReLU && i + 1 < tokens.count && tokens[i + 1].layer == .relu
      switch token {
      case .conv(let c, let k, let s, let p):
        guard current.rank == 3 else {
          throw ModelSpecError.doesNotFit(layer: text, input: current, reason: "a convolution needs a [C, H, W] input")
        }
        convCount += 1
        let conv = try Conv2D(
          input: current, outChannels: c, kernelSize: k, stride: s, padding: p,
          fusedReLU: reluNext, token: reluNext ? "\(text)+relu" : text, workers: workers)
        // Choice: conv-relu-pool is one layer (ConvPool), its conv output never stored, unless the
        // convolution's backward multiplies with the row GEMM (same and strided ones on AVX-512).
        if reluNext, !conv.backwardMayUseRowGemm, i + 2 < tokens.count, case .pool(let pk, let ps) = tokens[i + 2].layer
        {
          try append(
            try ConvPool(conv: conv, poolKernel: pk, poolStride: ps, poolToken: tokens[i + 2].token),
            module: "conv\(convCount)")
          i += 3
          continue
        }
        try append(conv, module: "conv\(convCount)")
      case .dense(let n):
        if current.rank != 1 { try append(Flatten()) }
        fcCount += 1
        try append(
          Dense(
            inputSize: current.count, outputSize: n, fusedReLU: reluNext,
            token: reluNext ? "\(text)+relu" : text, workers: workers),
          module: "fc\(fcCount)")
      case .pool(let k, let s): try append(MaxPool2D(kernelSize: k, stride: s, input: current, token: text))
      case .avgPool(let k, let s): try append(AvgPool2D(kernelSize: k, stride: s, input: current, token: text))
      case .globalAvgPool: try append(GlobalAvgPool())
      case .batchNorm:
        guard current.rank == 3 || current.rank == 1 else {
          throw ModelSpecError.doesNotFit(
            layer: text, input: current, reason: "batch norm needs a [C, H, W] or [F] input")
        }
        bnCount += 1
        // Choice: a bn right after a conv or fc joins that layer's group (docs/DESIGN.md).
        let afterWeights: Bool
        switch i > 0 ? tokens[i - 1].layer : .relu {
        case .conv, .dense: afterWeights = true
        default: afterWeights = false
        }
        try append(
          BatchNorm(channels: current.dims[0], fusedReLU: reluNext, token: reluNext ? "\(text)+relu" : text),
          module: "bn\(bnCount)", join: afterWeights)
      case .residual(let c, let s):
        resCount += 1
        try append(
          try ResidualBlock(input: current, outChannels: c, stride: s, token: text, workers: workers),
          module: "res\(resCount)")
      case .relu: try append(ReLU())
      case .flatten: try append(Flatten())
      case .dropout(let r): try append(Dropout(rate: r, token: text))
      }
      i += reluNext ? 2 : 1
    }
    guard !groups.isEmpty else { throw ModelSpecError.noOutput }
    self.spec = spec
    self.inputShape = inputShape
    self.layers = layers
    self.shapes = shapes
    self.layout = ParameterLayout(groups: groups)
    self.stateLayout = ParameterLayout(groups: stateGroups)
    self.parameterOffsets = offsets
    self.stateOffsets = stateOffsets
    self.parameterLayer = groupOf
    self.firstOfGroup = first
    self.frozen = [Bool](repeating: false, count: groups.count)
  }

  // MARK: - Frozen layers

  /// Freezes the parameterised layers `layers` (indices into
  /// `layout.layerNames`; `model.freeze`).
  ///
  /// A frozen layer runs in evaluation mode in every forward pass: a
  /// BatchNorm in it (its own, or inside a residual block) normalises by its
  /// running statistics and leaves them unchanged. Backward does not visit
  /// the layers below the lowest trainable one at all (neither dL/dx nor
  /// dL/dθ); a frozen layer above a trainable one still passes dL/dx down
  /// but gets no `dParameters` pointer, so its parameter gradient is never
  /// computed and its gradient slice is never written.
  /// `layerDone` is not called for frozen layers.
  public mutating func freeze(_ layers: Set<Int>) {
    precondition(
      layers.allSatisfy { layout.layerIndices.contains($0) }, "Layer index out of range: \(layers.sorted()).")
    frozen = layout.layerIndices.map { layers.contains($0) }
  }

  /// The indices of the layers that train (all but the frozen ones).
  public var trainableLayers: [Int] { layout.layerIndices.filter { !frozen[$0] } }

  /// Whether layer i (of `layers`) belongs to a frozen parameterised layer.
  func isFrozen(layer i: Int) -> Bool { parameterLayer[i].map { frozen[$0] } ?? false }

  /// The index (into `layers`) of the lowest layer backward must visit: the
  /// first layer of the lowest trainable parameterised layer (0 when none is frozen).
  var lowestBackwardLayer: Int {
    guard frozen.contains(true) else { return 0 }
    return layers.indices.first { i in parameterLayer[i].map { !frozen[$0] } ?? false } ?? layers.count
  }

  /// The per-sample output shape (e.g. `[10]` logits).
  public var outputShape: Shape { shapes[layers.count] }
  /// Number of output classes (the size of the last layer's output).
  public var classCount: Int { outputShape.count }
  public var parameterCount: Int { layout.count }
  /// The per-sample input size of the last layer when it is a dense
  /// (classifier) layer, else nil: the features its weight gradient pairs
  /// with dL/dlogits (`Workspace.layerInput(layers.count - 1)`).
  public var classifierInputCount: Int? { layers.last is Dense ? shapes[layers.count - 1].count : nil }

  /// A zeroed buffer shaped like the parameters (for gradients, momentum).
  public func makeBuffer() -> FlatBuffer { FlatBuffer(count: layout.count) }

  /// A new parameter buffer filled by ``initialize(_:seed:)``.
  public func makeParameters(seed: UInt64) -> FlatBuffer {
    let p = makeBuffer()
    initialize(p, seed: seed)
    return p
  }

  /// A new model-state buffer (BatchNorm running statistics) at PyTorch's
  /// initial values: running means 0, running variances 1, counts 0.
  /// Its layout is ``stateLayout``; for a model without BatchNorm it holds
  /// no entries.
  public func makeState() -> FlatBuffer {
    let state = FlatBuffer(count: stateLayout.count)
    resetState(state)
    return state
  }

  /// Sets `state` to the initial values of ``makeState()``.
  public func resetState(_ state: FlatBuffer) {
    precondition(
      state.count == stateLayout.count,
      "The state buffer has \(state.count) floats, the model \(stateLayout.count).")
    var at = 0
    for layer in layers {
      for t in layer.stateShapes {
        state.slice(at..<(at + t.count)).update(repeating: t.fill == .one ? 1 : 0)
        at += t.count
      }
    }
  }

  /// True when the model keeps BatchNorm running statistics.
  public var hasState: Bool { stateLayout.count > 0 }

  /// Activations and caches for batches of up to `maxBatch` samples.
  public func makeWorkspace(maxBatch: Int) -> Workspace { Workspace(model: self, maxBatch: maxBatch) }

  // MARK: - API

  /// Runs the layers on the `batch` samples in `workspace.input` and returns
  /// the logits [batch, classes] (a view into the workspace).
  ///
  /// `state` is the model-state buffer (``makeState()``); a model with
  /// BatchNorm needs it: `.train` normalises by batch statistics and updates
  /// the running statistics in `state`, `.eval` normalises by them.
  @discardableResult
  public func forward(
    _ workspace: Workspace, batch: Int, parameters: FlatBuffer, state: FlatBuffer? = nil, mode: Mode,
    rng: inout RNG, profile: LayerProfile? = nil
  ) -> UnsafeMutableBufferPointer<Float> {
    check(workspace, batch: batch, parameters)
    precondition(
      !hasState || state?.count == stateLayout.count,
      "Model '\(spec)' keeps BatchNorm running statistics: forward needs its state buffer of \(stateLayout.count) floats (makeState()), got \(state.map { "\($0.count)" } ?? "none")."
    )
    let statePointer = state?.pointer ?? workspace.dOutput.pointer  // never touched by stateless layers
    for (i, layer) in layers.enumerated() where !layer.isView {
      let start = profile == nil ? 0 : monotonicSeconds()
      defer { profile?.addForward(i, monotonicSeconds() - start) }
      layer.forward(
        output: workspace.activations[i + 1].pointer, input: workspace.activations[i].pointer,
        parameters: parameters.pointer + parameterOffsets[i], state: statePointer + stateOffsets[i],
        scratch: workspace.scratch[i].pointer, inputShape: shapes[i], batch: batch,
        mode: isFrozen(layer: i) ? .eval : mode, rng: &rng)
    }
    workspace.lastBatch = batch
    return UnsafeMutableBufferPointer(start: workspace.activations[layers.count].pointer, count: batch * classCount)
  }

  /// Back-propagates `workspace.dOutput` (dL/dlogits, [batch, classes]) from
  /// the last ``forward(_:batch:parameters:state:mode:rng:profile:)`` and *adds* dL/dθ into
  /// `gradients` (zero it first for a fresh gradient).
  ///
  /// `layerDone(l)` is called as soon as parameterised layer l's gradient is
  /// complete (last layer first), so a caller can start communicating it
  /// while the earlier layers are still being differentiated.
  public func backward(
    _ workspace: Workspace, batch: Int, parameters: FlatBuffer, gradients: FlatBuffer, profile: LayerProfile? = nil,
    layerDone: ((Int) -> Void)? = nil
  ) {
    check(workspace, batch: batch, parameters)
    precondition(
      gradients.count == layout.count,
      "The gradient buffer has \(gradients.count) floats, the model \(layout.count).")
    precondition(
      workspace.lastBatch == batch,
      "backward(batch: \(batch)) must follow a forward pass of the same batch (last forward had \(workspace.lastBatch))."
    )
    var dy = workspace.dOutput.pointer
    var spare = (workspace.gradientA.pointer, workspace.gradientB.pointer)
    let lowest = lowestBackwardLayer
    for i in stride(from: layers.count - 1, through: lowest, by: -1) {
      let layer = layers[i]
      if layer.isView { continue }
      let dx: UnsafeMutablePointer<Float>? = i == lowest ? nil : spare.0
      let start = profile == nil ? 0 : monotonicSeconds()
      defer { profile?.addBackward(i, monotonicSeconds() - start) }
      let frozen = isFrozen(layer: i)
      layer.backward(
        dInput: dx, dParameters: frozen ? nil : gradients.pointer + parameterOffsets[i], dOutput: dy,
        input: workspace.activations[i].pointer, output: workspace.activations[i + 1].pointer,
        parameters: parameters.pointer + parameterOffsets[i], scratch: workspace.scratch[i].pointer,
        inputShape: shapes[i], batch: batch)
      if let dx {
        dy = dx
        spare = (spare.1, spare.0)
      }
      if frozen { continue }  // its gradient slice was never written
      if let l = parameterLayer[i], firstOfGroup[i] { layerDone?(l) }
    }
  }

  private func check(_ workspace: Workspace, batch: Int, _ parameters: FlatBuffer) {
    precondition(
      workspace.spec == spec && workspace.inputShape == inputShape,
      "The workspace was made for model '\(workspace.spec)' on \(workspace.inputShape), not '\(spec)' on \(inputShape)."
    )
    precondition(
      batch >= 1 && batch <= workspace.maxBatch,
      "The batch size \(batch) must be between 1 and the workspace's maximum \(workspace.maxBatch).")
    precondition(
      parameters.count == layout.count,
      "The parameter buffer has \(parameters.count) floats, the model \(layout.count).")
  }
}
