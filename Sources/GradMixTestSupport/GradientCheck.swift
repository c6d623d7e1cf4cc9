import GradMixEngine

/// The outcome of comparing an analytic gradient with central differences.
public struct GradientComparison: CustomStringConvertible {
  public let name: String
  /// Coordinates judged.
  public let checked: Int
  /// Coordinates where a smaller step than the first agreed better (kinks).
  public let skipped: Int
  /// max_i |a_i − n_i| / max(|a_i|, |n_i|, floor) over checked coordinates.
  public let maxRelativeError: Double
  public let worstIndex: Int
  public let worstAnalytic: Double
  public let worstNumeric: Double
  public var description: String {
    "\(name): \(checked) coordinates (\(skipped) judged with a smaller step), max relative error \(maxRelativeError) at \(worstIndex) (analytic \(worstAnalytic), numeric \(worstNumeric))"
  }
}

/// Central-difference gradient checks of a single ``Layer`` (torch/nn's
/// `testJacobian` and `testJacobianParameters`).
///
/// The scalar being differentiated is L = Σ_j y_j · r_j for a fixed random
/// `r` (so dL/dy = r), accumulated in Double from the Float outputs.
/// Coordinates are perturbed in Float by ±ε, ±ε/3 and ±ε/10 (ε = 1e-2; see
/// ``compare(_:_:analytic:epsilon:floor:numeric:)``). The layers are
/// piecewise linear, so away from kinks the only error is round-off, about
/// 1e-4 of a typical gradient entry at ε = 1e-2. Inputs are drawn away from
/// ReLU's kink (|x| ≥ 0.1) and distinct (pooling). BatchNorm in training
/// mode is smooth but not linear; its O(ε²) truncation error is below 1e-3
/// relative on these inputs. Layers with model state (BatchNorm) get the
/// same random running statistics before every forward pass, so `.eval`
/// checks the running-statistics path.
public struct LayerGradientCheck {
  public let layer: any Layer
  public let inputShape: Shape
  public let batch: Int
  public let seed: UInt64
  public var epsilon: Float = 1e-2
  /// At most this many coordinates of each of x and θ are checked (chosen at random).
  public var maxCoordinates = 400
  /// The forward mode (`.eval` checks BatchNorm with its running statistics).
  public var mode: Mode = .train

  public init(layer: any Layer, inputShape: Shape, batch: Int, seed: UInt64) {
    self.layer = layer; self.inputShape = inputShape; self.batch = batch; self.seed = seed
  }

  /// Runs the check; returns the input and parameter comparisons.
  public func run() throws -> (input: GradientComparison, parameters: GradientComparison?) {
    var rng = RNG(seed: seed)
    let outShape = try layer.outputShape(for: inputShape)
    let inCount = batch * inputShape.count, outCount = batch * outShape.count
    // Distinct values away from 0: a shuffled grid with spacing 0.02, offset from 0 by ≥ 0.1.
    var x = (0..<inCount).map { i -> Float in
      let magnitude = 0.1 + 0.02 * Float(i)
      return (i % 2 == 0 ? 1 : -1) * magnitude
    }
    rng.shuffle(&x)
    let scaleDown = Float(max(1, inCount / 100))
    x = x.map { $0 / scaleDown }
    let theta = (0..<layer.parameterCount).map { _ in rng.normal() * 0.5 }
    let r = (0..<outCount).map { _ in rng.normal() }
    let scratchCount = max(1, layer.scratchCount(input: inputShape, batch: batch))
    let dropoutSeed = rng.next()
    // Model state (BatchNorm running statistics): running means ~N(0, 0.5²)
    // and running variances in [0.5, 1.5], the same before every forward.
    var state0: [Float] = []
    for t in layer.stateShapes {
      for _ in 0..<t.count {
        if t.name.hasSuffix("running_var") {
          state0.append(0.5 + rng.uniform())
        } else if t.name.hasSuffix("running_mean") {
          state0.append(rng.normal() * 0.5)
        } else {
          state0.append(0)
        }
      }
    }
    if state0.isEmpty { state0 = [0] }
    let mode = self.mode

    func objective(_ x: [Float], _ theta: [Float]) -> Double {
      var y = [Float](repeating: 0, count: outCount)
      var scratch = [Float](repeating: 0, count: scratchCount)
      var d = RNG(seed: dropoutSeed)
      run(&y, x, theta, &scratch, &d)
      var s = 0.0
      for j in 0..<outCount { s += Double(y[j]) * Double(r[j]) }
      return s
    }
    func run(_ y: inout [Float], _ x: [Float], _ theta: [Float], _ scratch: inout [Float], _ d: inout RNG) {
      let p = theta.isEmpty ? [0] : theta
      y.withUnsafeMutableBufferPointer { yb in
        x.withUnsafeBufferPointer { xb in
          p.withUnsafeBufferPointer { pb in
            scratch.withUnsafeMutableBufferPointer { sb in
              var state = state0
              state.withUnsafeMutableBufferPointer { stb in
                layer.forward(
                  output: yb.baseAddress!, input: xb.baseAddress!, parameters: pb.baseAddress!,
                  state: stb.baseAddress!, scratch: sb.baseAddress!, inputShape: inputShape, batch: batch,
                  mode: mode, rng: &d)
              }
            }
          }
        }
      }
    }

    // Analytic gradients. dθ starts at 0.25 to check that backward adds.
    var y = [Float](repeating: 0, count: outCount)
    var scratch = [Float](repeating: 0, count: scratchCount)
    var d = RNG(seed: dropoutSeed)
    run(&y, x, theta, &scratch, &d)
    var dx = [Float](repeating: .nan, count: inCount)
    var dTheta = [Float](repeating: 0.25, count: max(1, theta.count))
    let p = theta.isEmpty ? [0] : theta
    dx.withUnsafeMutableBufferPointer { dxb in
      dTheta.withUnsafeMutableBufferPointer { dtb in
        r.withUnsafeBufferPointer { rb in
          x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
              p.withUnsafeBufferPointer { pb in
                scratch.withUnsafeMutableBufferPointer { sb in
                  layer.backward(
                    dInput: dxb.baseAddress!, dParameters: dtb.baseAddress!, dOutput: rb.baseAddress!,
                    input: xb.baseAddress!, output: yb.baseAddress!, parameters: pb.baseAddress!,
                    scratch: sb.baseAddress!, inputShape: inputShape, batch: batch)
                }
              }
            }
          }
        }
      }
    }
    let analyticTheta = theta.isEmpty ? [] : dTheta.map { Double($0) - 0.25 }

    var pick = RNG(seed: seed ^ 0xC0FFEE)
    func coordinates(_ n: Int) -> [Int] {
      if n <= maxCoordinates { return Array(0..<n) }
      var all = Array(0..<n)
      pick.shuffle(&all)
      return Array(all.prefix(maxCoordinates))
    }
    let inputCmp = compare(
      "\(layer.token) dL/dx", coordinates(inCount), analytic: dx.map(Double.init),
      epsilon: epsilon
    ) { i, eps in
      var xp = x, xm = x
      xp[i] += eps; xm[i] -= eps
      return (objective(xp, theta) - objective(xm, theta)) / (2 * Double(eps))
    }
    var paramCmp: GradientComparison?
    if !theta.isEmpty {
      paramCmp = compare(
        "\(layer.token) dL/dθ", coordinates(theta.count), analytic: analyticTheta,
        epsilon: epsilon
      ) { i, eps in
        var tp = theta, tm = theta
        tp[i] += eps; tm[i] -= eps
        return (objective(x, tp) - objective(x, tm)) / (2 * Double(eps))
      }
    }
    return (inputCmp, paramCmp)
  }
}

/// Compares `analytic[i]` with central differences `numeric(i, ε)`.
///
/// Each coordinate is differenced with four steps, ε, ε/3, ε/6 and ε/10, and
/// judged by the estimate closest to the analytic value. A large step can
/// cross a kink (a ReLU changing sign, two pooled values swapping order) and
/// a small one suffers Float round-off, but a wrong analytic gradient
/// disagrees with all three estimates, so it is still caught. `skipped`
/// counts coordinates where the largest step was not the best (kinks).
/// The relative error's denominator is floored at `floor` so coordinates
/// whose true gradient is ~0 are judged by absolute error.
public func compare(
  _ name: String, _ indices: [Int], analytic: [Double], epsilon: Float, floor: Double = 1e-2,
  numeric: (Int, Float) -> Double
) -> GradientComparison {
  var worst = (err: 0.0, i: -1, a: 0.0, n: 0.0)
  var skipped = 0
  for i in indices {
    let a = analytic[i]
    var best = (err: Double.infinity, n: 0.0)
    // ε/6: a kink within 1e-3 of a coordinate and Float round-off at 3e-4 can leave only
    // a step between them close (the small CNN's first-layer weight under the row GEMM's rounding).
    for (k, eps) in [epsilon, epsilon / 3, epsilon / 6, epsilon / 10].enumerated() {
      let n = numeric(i, eps)
      let err = abs(a - n) / max(abs(a), abs(n), floor)
      if err < best.err {
        best = (err, n)
        if k > 0 { skipped += 1 }
      }
      if err < 1e-3 { break }
    }
    if best.err > worst.err || worst.i < 0 { worst = (best.err, i, a, best.n) }
  }
  return GradientComparison(
    name: name, checked: indices.count, skipped: skipped,
    maxRelativeError: worst.err, worstIndex: worst.i, worstAnalytic: worst.a,
    worstNumeric: worst.n)
}
