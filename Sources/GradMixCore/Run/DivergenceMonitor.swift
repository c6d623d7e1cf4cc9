import Foundation

/// Decides, step by step, whether a run has diverged.
///
/// A step is *bad* when the parameters hold a NaN or infinity, when no
/// present source (nor the target meta-batch) has a finite loss, or when the
/// mean finite loss exceeds `factor` times the loss at the start (the first
/// finite mean loss, measured on the initial parameters). The run has diverged
/// at once on non-finite parameters, and after `patience` bad steps in a
/// row otherwise; it diverged *since* the first of those steps. A single
/// source with a non-finite gradient is not divergence: that source gets
/// weight 0 for the step (docs/DESIGN.md). Every rank sees the same
/// parameters and the same allreduced losses, so every rank of an MPI job
/// reaches the same verdict at the same step without extra communication.
///
/// Choice: `factor` 10 and `patience` 3. A healthy cross-entropy run starts
/// near ln(classes) and stays below it (spikes of a few times that happen);
/// a blown-up run is at 1e3 or more, or NaN, within a step or two of the
/// blow-up (issue #12: `lr: 1e6` is NaN from step 1).
///
/// The monitor's state (the reference loss and the current run of bad steps)
/// goes into every checkpoint (``TrainerState/divergence``), so a resumed run
/// compares with the run's start, not with the step it resumed from (issue #28).
struct DivergenceMonitor: Codable, Equatable {
  var factor = 10.0
  var patience = 3
  private(set) var reference: Double?
  private var badSince: Int?
  private var badCount = 0

  /// What was seen when the run was declared diverged.
  struct Verdict: Equatable {
    /// The first step (1-based, as in metrics.jsonl) of the bad run of steps.
    let since: Int
    let reason: String
  }

  /// Records step `step` (1-based); returns the verdict once the run has diverged.
  /// - Parameters:
  ///   - losses: the finite-or-not losses of the step's present sources and meta-batch.
  ///   - parametersFinite: whether θ holds only finite values after the step.
  mutating func observe(step: Int, losses: [Double], parametersFinite: Bool) -> Verdict? {
    if !parametersFinite {
      return Verdict(since: badSince ?? step, reason: "the parameters hold NaN or infinite values")
    }
    let finite = losses.filter(\.isFinite)
    var reason: String?
    if !losses.isEmpty && finite.isEmpty {
      reason = "every loss is NaN or infinite"
    } else if !finite.isEmpty {
      let mean = finite.reduce(0, +) / Double(finite.count)
      if let reference, mean > factor * max(reference, 1e-3) {
        reason = "the loss is \(format(mean)), more than \(Int(factor))x its start \(format(reference))"
      } else if reference == nil {
        reference = mean
      }
    }
    guard let reason else {
      badSince = nil
      badCount = 0
      return nil
    }
    if badSince == nil { badSince = step }
    badCount += 1
    return badCount >= patience ? Verdict(since: badSince ?? step, reason: reason) : nil
  }

  private func format(_ x: Double) -> String {
    abs(x) >= 1e4 || abs(x) < 1e-3 ? String(format: "%.3g", x) : String(format: "%.3f", x)
  }
}
