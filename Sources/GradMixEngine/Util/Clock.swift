import Dispatch

/// Monotonic wall-clock seconds since an arbitrary origin.
@inlinable public func monotonicSeconds() -> Double {
  Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
}

/// The median of `values` (mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
  precondition(!values.isEmpty, "The median of no values is undefined.")
  let s = values.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
