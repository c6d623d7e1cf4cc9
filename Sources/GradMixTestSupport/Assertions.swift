import Testing

/// Expects `actual` and `expected` to agree elementwise within
/// `absolute + relative * |expected|`, reporting the first few offenders at
/// the caller's location.
public func expectClose<A: Collection, B: Collection>(
  _ actual: A, _ expected: B, absolute: Double = 1e-5, relative: Double = 1e-4, _ what: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
  #expect(
    actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
    sourceLocation: sourceLocation)
  var bad: [String] = []
  var badCount = 0
  for (i, (a, e)) in zip(actual, expected).enumerated() {
    let da = Double(a), de = Double(e)
    if !(abs(da - de) <= absolute + relative * abs(de)) {
      badCount += 1
      if bad.count < 5 { bad.append("[\(i)] \(da) vs \(de)") }
    }
  }
  #expect(
    badCount == 0, "\(what): \(badCount) values differ: \(bad.joined(separator: ", "))",
    sourceLocation: sourceLocation)
}
