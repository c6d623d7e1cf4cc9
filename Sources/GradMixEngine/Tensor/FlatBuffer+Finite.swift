extension FlatBuffer {
  /// The index of the first NaN or infinite element, or nil if all are finite.
  ///
  /// Used to refuse diverged parameters (training, `eval`) before they reach
  /// an evaluation or a JSON encoder. One pass that the compiler can
  /// vectorise: `x * 0` is 0 for a finite x and NaN for NaN or ±infinity, so a
  /// block's sum of `x * 0` is non-finite exactly when the block holds a bad
  /// element; only then is the block searched element by element.
  public func firstNonFiniteIndex() -> Int? {
    let block = 4096
    var start = 0
    while start < count {
      let end = min(start + block, count)
      var sum: Float = 0
      for i in start..<end { sum += storage[i] * 0 }
      if !sum.isFinite {
        for i in start..<end where !storage[i].isFinite { return i }
      }
      start = end
    }
    return nil
  }
}

extension ParameterLayout {
  /// The name of the tensor that holds flat index `index` (e.g. `fc2.weight`).
  public func tensorName(at index: Int) -> String {
    entries.first { $0.range.contains(index) }?.name ?? "index \(index)"
  }
}
