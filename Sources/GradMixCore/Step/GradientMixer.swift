import GradMixDistributed
import GradMixEngine

/// The per-layer vector operations of a GradMix step, each one BLAS call on
/// a slice of the flat gradient buffers (see ``ParameterLayout``).
public struct GradientMixer: Sendable {
  public let layout: ParameterLayout

  public init(layout: ParameterLayout) { self.layout = layout }

  /// `dots[l] = ⟨a_l, b_l⟩` for every layer l, accumulated in double precision.
  public func layerDots(_ a: FlatBuffer, _ b: FlatBuffer) -> [Double] {
    precondition(
      a.count == layout.count && b.count == layout.count,
      "Both gradients must have the layout's \(layout.count) floats, got \(a.count) and \(b.count).")
    return layout.layerRanges.map { r in BLAS.dot(UnsafeBufferPointer(a.slice(r)), UnsafeBufferPointer(b.slice(r))) }
  }

  /// `‖a_l‖²` for every layer l (non-finite if the layer holds a NaN or ±Inf).
  public func layerSquaredNorms(_ a: FlatBuffer) -> [Double] {
    precondition(a.count == layout.count, "The gradient must have the layout's \(layout.count) floats, got \(a.count).")
    return layout.layerRanges.map { r in BLAS.squaredNorm(UnsafeBufferPointer(a.slice(r))) }
  }

  /// `mixed += Σ_l weights[l] · g_l`, layer by layer (one axpy per layer;
  /// layers with weight 0 are skipped).
  public func accumulate(_ g: FlatBuffer, weights: [Float], into mixed: FlatBuffer) {
    precondition(weights.count == layout.layerCount, "\(weights.count) weights for \(layout.layerCount) layers.")
    for (l, r) in layout.layerRanges.enumerated() where weights[l] != 0 {
      BLAS.axpy(weights[l], UnsafeBufferPointer(g.slice(r)), mixed.slice(r))
    }
  }

  /// Sends `g`'s trainable spans from `root` to every rank (every rank calls
  /// it): how the step shares g_T under `--target-gradient broadcast`.
  public func broadcast(_ g: FlatBuffer, root: Int, comm: Communicator) throws {
    for span in layout.spans { try comm.broadcast(g.slice(span), root: root) }
  }
}
