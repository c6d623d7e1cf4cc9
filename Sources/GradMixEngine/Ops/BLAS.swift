import COpenBLAS
import Dispatch

/// Thin wrappers over OpenBLAS (always row-major) plus the engine's own
/// thread count, which also decides whether memory-bound loops (im2col,
/// pooling, ReLU) are split across threads.
public enum BLAS {
  nonisolated(unsafe) private static var _threads = 1

  /// Number of threads the engine computes with.
  ///
  /// The engine splits work between its own threads (a convolution splits
  /// the batch, a dense layer its rows), and every BLAS call runs
  /// single-threaded inside one of them, so OpenBLAS is kept at one thread.
  /// Set this once at start-up, before building models (layers size their
  /// scratch for it); the MPI runtime sets it per rank so ranks that share
  /// a node do not oversubscribe its cores. Not thread-safe.
  public static var threads: Int {
    get { threadsOverride ?? _threads }
    set {
      precondition(newValue >= 1, "The thread count must be at least 1, got \(newValue).")
      _threads = newValue
      openblas_set_num_threads(1)
    }
  }

  /// The thread count of ``withThreads(_:_:)`` on this task or thread, if any.
  @TaskLocal static var threadsOverride: Int?

  /// Runs `body` with ``threads`` reading `count` on the calling task or
  /// thread only (models built and run inside use that many workers): tests
  /// compare thread counts side by side without changing the process's
  /// count under tests that run at the same time.
  public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    precondition(count >= 1, "The thread count must be at least 1, got \(count).")
    return try $threadsOverride.withValue(count, operation: body)
  }

  /// Keeps OpenBLAS single-threaded (called once when the first model is
  /// built; the engine's own workers provide the parallelism).
  public static func configure() { _ = configured }
  private static let configured: Void = { openblas_set_num_threads(1) }()

  /// OpenBLAS's own description of its build (kernel, threading).
  public static var configuration: String {
    guard let c = openblas_get_config() else { return "unknown" }
    return String(cString: c)
  }

  /// OpenBLAS's current thread count.
  public static var openBLASThreads: Int { Int(openblas_get_num_threads()) }

  /// `C[M, N] = alpha * op(A) * op(B) + beta * C` in row-major order.
  ///
  /// `op(A)` is `[M, K]` and `op(B)` is `[K, N]`; `lda`, `ldb`, `ldc` are the
  /// row strides of the matrices as stored.
  @inlinable
  public static func gemm(
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
    _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
    m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
  ) {
    if let recorder = gemmRecorder {
      recorder.record(
        GemmCall(
          m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, transposeA: transposeA, transposeB: transposeB, beta: beta))
    }
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
      Int32(ldc))
  }

  /// `y[M] = alpha * op(A) * x + beta * y` in row-major order; `A` is
  /// stored as [M, N] (`op(A)` is [N, M] when transposed).
  @inlinable
  public static func gemv(
    _ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, lda: Int, transpose: Bool,
    _ x: UnsafePointer<Float>, m: Int, n: Int, alpha: Float = 1, beta: Float = 0
  ) {
    cblas_sgemv(
      CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
      x, 1, beta, y, 1)
  }

  /// The dot product of two equally long slices, accumulated in double
  /// precision (`cblas_dsdot`); the step's statistics use the fused ``squaredNormAndDot(_:_:)``.
  @inlinable
  public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
    precondition(x.count == y.count, "dot needs equal lengths, got \(x.count) and \(y.count).")
    guard x.count > 0 else { return 0 }
    return cblas_dsdot(Int32(x.count), x.baseAddress, 1, y.baseAddress, 1)
  }

  /// `y += alpha * x` on equally long slices.
  @inlinable
  public static func axpy(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == y.count, "axpy needs equal lengths, got \(x.count) and \(y.count).")
    guard x.count > 0 else { return }
    cblas_saxpy(Int32(x.count), alpha, x.baseAddress, 1, y.baseAddress, 1)
  }

  /// `x *= alpha`.
  @inlinable
  public static func scale(_ x: UnsafeMutableBufferPointer<Float>, by alpha: Float) {
    guard x.count > 0 else { return }
    cblas_sscal(Int32(x.count), alpha, x.baseAddress, 1)
  }

  /// Runs `body(w)` for each worker w in `0..<workers` at the same time
  /// (the calling thread is one of them).
  @inlinable
  public static func parallelWorkers(_ workers: Int, _ body: (Int) -> Void) {
    if workers <= 1 {
      body(0)
      return
    }
    withoutActuallyEscaping(body) { escapable in
      nonisolated(unsafe) let work = escapable
      DispatchQueue.concurrentPerform(iterations: workers) { w in work(w) }
    }
  }

  /// Runs `body(i)` for `i` in `0..<count`, split across `threads` workers
  /// when there is more than one and the work is worth splitting.
  @inlinable
  public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    let workers = min(threads, count)
    if workers <= 1 {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      // The workers touch disjoint index ranges; the caller guarantees that
      // body(i) and body(j) write disjoint memory for i != j.
      nonisolated(unsafe) let work = escapable
      DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = count * w / workers
        let hi = count * (w + 1) / workers
        for i in lo..<hi { work(i) }
      }
    }
  }

  /// Runs `body(range)` over `0..<count` cut into contiguous ranges of at
  /// least `grain` elements, one range per worker (``threads`` at most), for
  /// elementwise loops: each element is computed by one thread with the same
  /// arithmetic, so the result does not depend on the thread count.
  /// Choice: grain 32,768 floats (128 KiB), below which a second thread's
  /// start costs about what it saves.
  @inlinable
  public static func parallelRanges(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(threads, count / max(grain, 1)))
    if workers <= 1 {
      if count > 0 { body(0..<count) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      nonisolated(unsafe) let work = escapable
      DispatchQueue.concurrentPerform(iterations: workers) { w in
        work((count * w / workers)..<(count * (w + 1) / workers))
      }
    }
  }
}
