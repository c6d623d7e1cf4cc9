import Foundation
import GradMixEngine
import Testing

/// The AVX kernels (CKernels/NormAndDot.c) against the portable Swift loops
/// they stand in for: the same bits, so the kernel a machine picks never
/// changes a run (BLAS+NormAndDot.swift).
@Suite("Norm-and-dot kernels")
struct NormAndDotKernelTests {
  /// Lengths around the 64-element blocks and the 8-block groups, and the digit CNN's layers.
  static let lengths = [1, 7, 63, 64, 65, 511, 512, 513, 1_023, 1_216, 4_103, 12_832, 65_664, 81_066]

  /// `n` floats of spread magnitudes (so the float sums round), with zeros, −0 and subnormals mixed in.
  static func values(_ n: Int, seed: UInt64) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<n).map { i in
      switch i % 97 {
      case 5: return 0
      case 11: return -0.0
      case 23: return Float.leastNonzeroMagnitude * Float(i % 5)
      default:
        let scale: Float = [1e-4, 1e-2, 1, 30][i % 4]
        return (rng.uniform() * 2 - 1) * scale
      }
    }
  }

  @Test(
    "the AVX squaredNormAndDot and squaredNorm give the portable loops' bits",
    .enabled(if: BLAS.NormAndDotKernel.selected == .avx, "this CPU has no AVX"),
    arguments: lengths)
  func sameBits(_ n: Int) {
    let g = Self.values(n, seed: UInt64(n)), t = Self.values(n, seed: UInt64(n) + 1_000)
    g.withUnsafeBufferPointer { gp in
      t.withUnsafeBufferPointer { tp in
        let portable = BLAS.squaredNormAndDot(gp, tp, kernel: .portable)
        let avx = BLAS.squaredNormAndDot(gp, tp, kernel: .avx)
        #expect(avx.squaredNorm.bitPattern == portable.squaredNorm.bitPattern)
        #expect(avx.dot.bitPattern == portable.dot.bitPattern)
        #expect(BLAS.squaredNorm(gp, kernel: .avx).bitPattern == BLAS.squaredNorm(gp, kernel: .portable).bitPattern)
        // Suffixes: unaligned starts and other tail lengths.
        for start in [1, 3, 17, 64, 200] where start < n {
          let gs = UnsafeBufferPointer(rebasing: gp[start...]), ts = UnsafeBufferPointer(rebasing: tp[start...])
          let a = BLAS.squaredNormAndDot(gs, ts, kernel: .avx), p = BLAS.squaredNormAndDot(gs, ts, kernel: .portable)
          #expect(a.squaredNorm.bitPattern == p.squaredNorm.bitPattern && a.dot.bitPattern == p.dot.bitPattern)
        }
      }
    }
  }

  @Test(
    "the AVX kernels are non-finite where the portable loops are (a NaN or ±Inf anywhere)",
    .enabled(if: BLAS.NormAndDotKernel.selected == .avx, "this CPU has no AVX"),
    arguments: [0, 100, 4_000, 4_102])
  func nonFinite(_ position: Int) {
    let t = Self.values(4_103, seed: 9)
    for bad in [Float.nan, .infinity, -.infinity] {
      var g = Self.values(4_103, seed: 8)
      g[position] = bad
      g.withUnsafeBufferPointer { gp in
        t.withUnsafeBufferPointer { tp in
          let avx = BLAS.squaredNormAndDot(gp, tp, kernel: .avx)
          let portable = BLAS.squaredNormAndDot(gp, tp, kernel: .portable)
          #expect(!avx.squaredNorm.isFinite && !portable.squaredNorm.isFinite)
          #expect(avx.squaredNorm.isNaN == portable.squaredNorm.isNaN && avx.dot.isNaN == portable.dot.isNaN)
          #expect(!BLAS.squaredNorm(gp, kernel: .avx).isFinite)
        }
      }
    }
  }

  @Test("the selected kernel is AVX exactly where the CPU reports the avx flag (Linux)")
  func selection() throws {
    #if os(Linux) && arch(x86_64)
      let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
      let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ") } ?? []
      #expect((BLAS.NormAndDotKernel.selected == .avx) == flags.contains("avx"))
    #else
      #expect(BLAS.NormAndDotKernel.selected == .portable)
    #endif
  }
}
