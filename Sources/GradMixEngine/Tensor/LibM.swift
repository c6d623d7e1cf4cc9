#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

/// The C library's math functions the engine calls, in one place for both
/// platforms (Glibc on Linux, Darwin on macOS): `expf`/`logf` for the
/// softmax and the loss, `log`/`cos` for the normal draws of ``RNG``.
@inlinable func _expf(_ x: Float) -> Float { expf(x) }
@inlinable func _logf(_ x: Float) -> Float { logf(x) }
@usableFromInline func _log(_ x: Double) -> Double { log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { cos(x) }
