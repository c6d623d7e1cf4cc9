import Foundation
import GradMixEngine

// TODO(#26): screen-only patch (2026-12-05, per-class label check); never merged.
// GRADMIX_EXP_CLASSLOG=1 prints per (source, class) row statistics to stderr;
// GRADMIX_EXP_CLASSGATE=<mean|max>:<rank>[:<threshold>] replaces the class match by the
// rank-th lowest (1 = minimum) per-class EMA of the chosen margin over the classes seen.

enum ClassScreen {
  static let environment = ProcessInfo.processInfo.environment
  static let log = environment["GRADMIX_EXP_CLASSLOG"] != nil
  static let gate: (margin: String, rank: Int, threshold: Double)? = {
    guard let v = environment["GRADMIX_EXP_CLASSGATE"] else { return nil }
    let p = v.split(separator: ":").map(String.init)
    return (p[0], p.count > 1 ? Int(p[1]) ?? 1 : 1, p.count > 2 ? Double(p[2]) ?? 0 : 0)
  }()
  static let keepMatch = environment["GRADMIX_EXP_CLASSKEEP"] != nil
  static var active: Bool { log || gate != nil }
}

final class ClassScreenState {
  var step = 0
  var meanMargins: [Double]
  var maxMargins: [Double]
  var seen: [Bool]
  /// R̄ [C, C]: the EMA of r_{c,c'} per present class c (margin `mat`: R̄_cc − max_{c'≠c} R̄_cc').
  var cosines: [Double]
  var matMargins: [Double]
  init(classes: Int) {
    cosines = [Double](repeating: 0, count: classes * classes)
    meanMargins = [Double](repeating: 0, count: classes)
    maxMargins = meanMargins
    matMargins = meanMargins
    seen = [Bool](repeating: false, count: classes)
  }
}

extension LabelSignature {
  /// Per class c present in this batch and in the target: r_cc, the mean and the max of r_cc' (c' ≠ c
  /// among the target's classes); updates the per-class EMAs; returns the gate statistic (or nil).
  func classScreen(against target: LabelSignature, source: Int, state: ClassScreenState) -> Double? {
    let c = classes, d = features
    state.step += 1
    var stats = [(Int, Double, Double, Double)]()
    var rows = [(Int, [(Int, Double)])]()
    storage.withUnsafeBufferPointer { a in
      target.average.withUnsafeBufferPointer { b in
        func row(_ p: UnsafeBufferPointer<Float>, _ y: Int) -> UnsafeBufferPointer<Float> {
          UnsafeBufferPointer(rebasing: p[(y * d)..<((y + 1) * d)])
        }
        var na = [Double](repeating: 0, count: c), nb = na
        for y in 0..<c {
          na[y] = BLAS.squaredNorm(row(a, y)).squareRoot()
          nb[y] = BLAS.squaredNorm(row(b, y)).squareRoot()
        }
        let targetClasses = (0..<c).filter { nb[$0] > 0 }
        guard targetClasses.count >= 2 else { return }
        for y in 0..<c where a[c * d + y] > 0 && na[y] > 0 && na[y].isFinite && nb[y] > 0 {
          var same = 0.0, sum = 0.0, best = -Double.infinity, n = 0
          var rs = [(Int, Double)]()
          defer { rows.append((y, rs)) }
          for t in targetClasses {
            let r = BLAS.squaredNormAndDot(row(a, y), row(b, t)).dot / (na[y] * nb[t])
            rs.append((t, r))
            if t == y { same = r } else { sum += r; best = max(best, r); n += 1 }
          }
          stats.append((y, same, sum / Double(n), best))
        }
      }
    }
    let beta = Double(Self.targetSmoothing)
    for (y, same, mean, best) in stats {
      state.meanMargins[y] = beta * state.meanMargins[y] + (1 - beta) * (same - mean)
      state.maxMargins[y] = beta * state.maxMargins[y] + (1 - beta) * (same - best)
      state.seen[y] = true
      if ClassScreen.log {
        FileHandle.standardError.write(
          "CLS \(state.step) \(source) \(y) \(same) \(mean) \(best) \(state.meanMargins[y]) \(state.maxMargins[y])\n"
            .data(using: .utf8)!)
      }
    }
    for (y, rs) in rows {
      for (t, r) in rs { state.cosines[y * c + t] = beta * state.cosines[y * c + t] + (1 - beta) * r }
      let others = rs.filter { $0.0 != y }.map { state.cosines[y * c + $0.0] }
      state.matMargins[y] = state.cosines[y * c + y] - (others.max() ?? 0)
      if ClassScreen.log {
        FileHandle.standardError.write("MAT \(state.step) \(source) \(y) \(state.matMargins[y])\n".data(using: .utf8)!)
      }
    }
    guard let gate = ClassScreen.gate else { return nil }
    let m = gate.margin == "max" ? state.maxMargins : gate.margin == "mat" ? state.matMargins : state.meanMargins
    let values = (0..<c).filter { state.seen[$0] }.map { m[$0] }.sorted()
    guard !values.isEmpty else { return 0 }
    return values[min(gate.rank, values.count) - 1] - gate.threshold
  }
}
