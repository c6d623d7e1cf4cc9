/// Where each parameter tensor of a model lives in its flat buffers.
///
/// Built once from the layer list. Parameters, gradients and optimiser state
/// are separate ``FlatBuffer``s that all share this one layout. A *layer* here
/// means a parameterised layer (`conv1`, `conv2`, `fc1`, `res1`, ...):
/// parameterless layers (ReLU, pooling, flatten, dropout) have no range. A
/// `bn` right after a conv or fc joins that layer (`conv1` covers
/// `conv1.weight`, `conv1.bias`, `bn1.weight`, `bn1.bias`), and a residual
/// block is one layer (see docs/DESIGN.md, "BatchNorm and residual blocks").
/// `layerRanges[l]` covers all of layer l's tensors and is the unit the
/// GradMix layer-wise weights apply to. The same type describes the model
/// state buffer (BatchNorm running statistics), ``Sequential/stateLayout``.
public struct ParameterLayout: Equatable, Sendable, CustomStringConvertible {
  public struct Entry: Equatable, Sendable {
    /// Index of the parameterised layer (0..<layerCount).
    public let layer: Int
    /// Full tensor name, e.g. `conv1.weight`.
    public let name: String
    public let shape: [Int]
    public let range: Range<Int>
  }

  public let entries: [Entry]
  /// Names of the parameterised layers, e.g. `["conv1", "conv2", "fc1", "fc2"]`.
  public let layerNames: [String]
  /// `layerRanges[l]` covers every tensor of layer l.
  public let layerRanges: [Range<Int>]
  /// Total number of floats.
  public let count: Int

  /// Builds the layout from `(layerName, tensors)` pairs in storage order;
  /// tensor `t` of layer `name` is called `name.t`.
  public init(layers: [(name: String, tensors: [ParameterShape])]) {
    self.init(
      groups: layers.map { layer in
        (layer.name, layer.tensors.map { (name: "\(layer.name).\($0.name)", shape: $0.shape) })
      })
  }

  /// Builds the layout from groups of fully named tensors in storage order
  /// (a group is one GradMix layer; its tensors may come from several
  /// modules, e.g. `conv1.weight`, `conv1.bias`, `bn1.weight`, `bn1.bias`).
  public init(groups: [(name: String, tensors: [(name: String, shape: [Int])])]) {
    var entries: [Entry] = []
    var ranges: [Range<Int>] = []
    var offset = 0
    for (l, group) in groups.enumerated() {
      let start = offset
      for t in group.tensors {
        let count = t.shape.reduce(1, *)
        entries.append(Entry(layer: l, name: t.name, shape: t.shape, range: offset..<(offset + count)))
        offset += count
      }
      ranges.append(start..<offset)
    }
    self.entries = entries
    self.layerNames = groups.map(\.name)
    self.layerRanges = ranges
    self.count = offset
  }

  private init(entries: [Entry], layerNames: [String], layerRanges: [Range<Int>], count: Int) {
    self.entries = entries; self.layerNames = layerNames; self.layerRanges = layerRanges; self.count = count
  }

  /// The layout of the layers `keep` only (in order, renumbered 0..<keep.count),
  /// their ranges still pointing into the whole buffer of `count` floats.
  /// The trainer's view of a model with frozen layers (`model.freeze`): the
  /// GradMix statistics, weights and mix run over these layers only.
  public func restricted(to keep: [Int]) -> ParameterLayout {
    var renumber: [Int: Int] = [:]
    for (j, l) in keep.enumerated() { renumber[l] = j }
    return ParameterLayout(
      entries: entries.compactMap { e in
        renumber[e.layer].map { Entry(layer: $0, name: e.name, shape: e.shape, range: e.range) }
      },
      layerNames: keep.map { layerNames[$0] }, layerRanges: keep.map { layerRanges[$0] }, count: count)
  }

  /// The layer ranges merged into maximal contiguous spans, in order: one
  /// span `0..<count` for a whole model, one for a model whose frozen
  /// layers form a prefix (or suffix) of the buffer, several otherwise.
  public var spans: [Range<Int>] {
    var result: [Range<Int>] = []
    for r in layerRanges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !r.isEmpty {
      if let last = result.last, last.upperBound == r.lowerBound {
        result[result.count - 1] = last.lowerBound..<r.upperBound
      } else {
        result.append(r)
      }
    }
    return result
  }

  /// Floats covered by the layers (`count` unless the layout is ``restricted(to:)``).
  public var coveredCount: Int { layerRanges.reduce(0) { $0 + $1.count } }

  public var layerCount: Int { layerRanges.count }
  public var layerIndices: Range<Int> { 0..<layerRanges.count }

  /// The entry named `name`, if any.
  public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

  /// A 64-bit FNV-1a hash of every name, shape and range, for checking that
  /// two processes (or a checkpoint and a model) agree on the layout.
  public var hash: UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in description.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return h
  }

  public var description: String {
    entries.map { "\($0.name)\($0.shape)@\($0.range.lowerBound)..<\($0.range.upperBound)" }.joined(separator: ";")
  }
}
