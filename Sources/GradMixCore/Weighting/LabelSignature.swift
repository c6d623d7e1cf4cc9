import GradMixEngine

/// The label-dependent part of a batch's classifier-layer gradient, for the
/// label gate of ``GatedPCGradWeighting`` (docs/DESIGN.md, "The label gate").
///
/// The classifier (last dense) layer's weight gradient of a softmax
/// cross-entropy batch is (1/N) Σ_n (p_n − y_n) h_nᵀ, with h_n the layer's
/// input. Its p part depends on the model alone: it pulls every logit toward
/// less confident predictions whatever the labels, and it is the part that a
/// random-label source's gradient shares with the target's (DESIGN,
/// "Harmful sources"). The part that depends on the labels, centred on the
/// batch, is
///
///     Λ = (1/N) Σ_n (y_n − ȳ) h_nᵀ = S − ȳ h̄ᵀ,   S = (1/N) Σ_n y_n h_nᵀ   [C, D]
///
/// row c of which is the share of class c in the batch times its mean
/// feature less the batch's mean feature. ⟨Λ_k, Λ_T⟩ compares the classes'
/// feature signatures of a source and of the target batch: positive for a
/// source whose labels mean what the target's do, about 0 for random labels
/// and negative for permuted ones, whatever the confidence of the model.
///
/// Choice: the target's side is smoothed over steps. The meta batch holds
/// 1–2 samples of each class (16 over 10 classes), so one batch's Λ_T is
/// noisy; the features drift slowly, so the cosine is taken against
/// Λ̄_T ← β Λ̄_T + (1 − β) Λ_T (β = ``targetSmoothing``, from 0; the cosine
/// does not see the EMA's scale), which every rank updates from the same
/// Λ_T and a checkpoint carries (`TrainerState.targetSignature`).
///
/// Choice: the buffer holds the sums S, ȳ and h̄ (each a sum over the batch
/// divided by the whole batch size), so the shards of a split batch add up
/// (summed in their group like the gradients, ``ShardGroups``); ``finish()``
/// forms Λ in place. Layout: S (C×D, row-major), then ȳ (C), then h̄ (D).
final class LabelSignature {
  let classes: Int
  let features: Int
  /// [C·D + C + D]: S, ȳ, h̄ (after ``finish()``, Λ in the first C·D).
  var storage: [Float]
  /// Λ̄ [C·D], the EMA of the finished Λ over steps (the target's; see ``smooth()``).
  var average: [Float]
  /// β of the target's EMA (Choice: the default rule's β).
  static let targetSmoothing: Float = 0.9

  init(classes: Int, features: Int) {
    self.classes = classes
    self.features = features
    storage = [Float](repeating: 0, count: classes * features + classes + features)
    average = [Float](repeating: 0, count: classes * features)
  }

  /// Λ̄ ← β Λ̄ + (1 − β) Λ, after ``finish()`` (every rank, once per step).
  func smooth() {
    let b = Self.targetSmoothing
    for i in average.indices { average[i] = b * average[i] + (1 - b) * storage[i] }
  }

  /// Λ (C×D) after ``finish()``.
  var signature: ArraySlice<Float> { storage[0..<(classes * features)] }

  /// Sets the sums from `rows` samples: `features` [rows, D] (the classifier
  /// layer's input of the last forward pass), `labels` [rows], each divided by
  /// `batchSize` (the whole batch's size, ≥ rows for a shard). Labels outside
  /// 0..<C are skipped.
  func collect(features h: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, batchSize: Int) {
    let c = classes, d = features
    let inverse = 1 / Float(batchSize)
    storage.withUnsafeMutableBufferPointer { s in
      s.update(repeating: 0)
      let yBar = c * d, hBar = c * d + c
      for n in 0..<rows {
        let y = Int(labels[n])
        let row = h + n * d
        for j in 0..<d { s[hBar + j] += row[j] * inverse }
        guard y >= 0 && y < c else { continue }
        s[yBar + y] += inverse
        for j in 0..<d { s[y * d + j] += row[j] * inverse }
      }
    }
  }

  /// Λ = S − ȳ h̄ᵀ in place (call once, after any group sum).
  func finish() {
    let c = classes, d = features
    storage.withUnsafeMutableBufferPointer { s in
      let yBar = c * d, hBar = c * d + c
      for y in 0..<c where s[yBar + y] != 0 {
        for j in 0..<d { s[y * d + j] -= s[yBar + y] * s[hBar + j] }
      }
    }
  }

  /// cos(Λ, Λ̄ of `target`): the label score (0 when either is zero; NaN
  /// when Λ is not finite).
  func cosine(against target: LabelSignature) -> Double {
    let (norm, dot) = squaredNormAndDot(smoothed: target)
    let n = norm * target.averageSquaredNorm
    return n > 0 ? dot / n.squareRoot() : (norm.isFinite ? 0 : .nan)
  }

  /// The class cosines r_{c,t} = cos(Λ_c, Λ̄_T,t) of row c of this Λ (the
  /// source's class c) and row t of the target's Λ̄, for every class c of
  /// this batch (ȳ_c > 0, a row that is not zero) and every target class t
  /// (``targetClasses()``), written to `cosines` [C·C] (row c, column t) with
  /// `present[c] = 1` for the rows measured; every other entry is left at 0.
  ///
  /// Choice (docs/DESIGN.md, "The label gate"): the per-class check of
  /// ``GatedPCGradWeighting`` smooths these over steps and asks whether row c
  /// looks more like the target's class c than like any other target class.
  /// Rows are compared by cosine, so a class's share of the batch and a
  /// domain's feature scale drop out.
  ///
  /// - Returns: false (nothing written) when Λ is not finite.
  func classCosines(
    against target: LabelSignature, into cosines: UnsafeMutableBufferPointer<Double>,
    present: UnsafeMutableBufferPointer<Double>
  ) -> Bool {
    let c = classes, d = features
    precondition(
      cosines.count == c * c && present.count == c,
      "The class cosines need \(c * c) and \(c) slots, got \(cosines.count) and \(present.count).")
    return storage.withUnsafeBufferPointer { a in
      target.average.withUnsafeBufferPointer { b in
        // The rows' norms, source's then target's, on the stack (this runs per source and step).
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * c) { norm in
          func row(_ p: UnsafeBufferPointer<Float>, _ y: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: p[(y * d)..<((y + 1) * d)])
          }
          for y in 0..<c {
            norm[y] = BLAS.squaredNorm(row(a, y)).squareRoot()
            guard norm[y].isFinite else { return false }
            norm[c + y] = BLAS.squaredNorm(row(b, y)).squareRoot()
          }
          for y in 0..<c where a[c * d + y] > 0 && norm[y] > 0 {
            present[y] = 1
            for t in 0..<c where norm[c + t] > 0 {
              cosines[y * c + t] = BLAS.squaredNormAndDot(row(a, y), row(b, t)).dot / (norm[y] * norm[c + t])
            }
          }
          return true
        }
      }
    }
  }

  /// 1 for each class whose row of Λ̄ is not zero (the target's classes so far), else 0.
  func targetClasses() -> [Double] {
    let d = features
    return average.withUnsafeBufferPointer { b in
      (0..<classes).map { y in
        BLAS.squaredNorm(UnsafeBufferPointer(rebasing: b[(y * d)..<((y + 1) * d)])) > 0 ? 1 : 0
      }
    }
  }

  /// (‖Λ‖², ⟨Λ, Λ̄ of `target`⟩) in double precision.
  func squaredNormAndDot(smoothed target: LabelSignature) -> (squaredNorm: Double, dot: Double) {
    let n = classes * features
    return storage.withUnsafeBufferPointer { a in
      target.average.withUnsafeBufferPointer { b in
        BLAS.squaredNormAndDot(UnsafeBufferPointer(rebasing: a[0..<n]), b)
      }
    }
  }

  /// ‖Λ̄‖².
  var averageSquaredNorm: Double { average.withUnsafeBufferPointer { BLAS.squaredNorm($0) } }
}
