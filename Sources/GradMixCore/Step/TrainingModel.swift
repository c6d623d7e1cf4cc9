import GradMixEngine

/// The network a run trains: its layers, its parameters (one flat buffer,
/// per-layer slices), its model state and the scratch of its training passes.
/// The step, evaluation and the checkpoints share the same buffers.
struct TrainingModel {
  let network: Sequential
  let parameters: FlatBuffer
  /// The BatchNorm running statistics and their per-step bookkeeping (``RunningStatistics``).
  let runningStatistics: RunningStatistics
  /// The activations and gradients of the step's forward and backward passes, sized for the largest batch.
  let workspace: Workspace
}
