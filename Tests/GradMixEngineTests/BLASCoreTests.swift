import Foundation
import GradMixEngine
import Testing

@Suite("OpenBLAS core check")
struct BLASCoreTests {
  @Test("a generic core on an AVX2 or AVX-512 CPU is named with the OPENBLAS_CORETYPE that fits")
  func warning() throws {
    let avx512 = try #require(BLASCore.warning(core: "Prescott", cpuFlags: ["sse2", "avx", "avx2", "avx512f"]))
    #expect(avx512.contains("OPENBLAS_CORETYPE=SkylakeX") && avx512.contains("Prescott"))
    let avx2 = try #require(BLASCore.warning(core: "Nehalem", cpuFlags: ["sse4_2", "avx2"]))
    #expect(avx2.contains("OPENBLAS_CORETYPE=Haswell"))
    #expect(BLASCore.warning(core: "Core2", cpuFlags: ["avx2"]) != nil)
  }

  @Test("no warning for a fitting core, an old CPU or an unknown core")
  func noWarning() {
    #expect(BLASCore.warning(core: "Zen", cpuFlags: ["avx2"]) == nil)
    #expect(BLASCore.warning(core: "SkylakeX", cpuFlags: ["avx2", "avx512f"]) == nil)
    #expect(BLASCore.warning(core: "Prescott", cpuFlags: ["sse2", "sse3"]) == nil)
    #expect(BLASCore.warning(core: "unknown", cpuFlags: ["avx2"]) == nil)
  }

  @Test("CPU flags are read from a cpuinfo file; the running library names its core")
  func flags() throws {
    let path = NSTemporaryDirectory() + "cpuinfo-\(getpid())"
    try "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n"
      .write(toFile: path, atomically: true, encoding: .utf8)
    #expect(BLASCore.cpuFlags(cpuinfo: path) == ["fpu", "sse2", "avx2", "avx512f"])
    #expect(BLASCore.cpuFlags(cpuinfo: "/nonexistent") == [])
    #expect(!BLASCore.name.isEmpty && BLASCore.name != "unknown")
  }
}

@Suite("OpenBLAS kernel selection")
struct BLASCoreSelectionTests {
  let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl"]

  @Test("a generic kernel on an AVX-512 or AVX2 CPU re-executes with the fitting one, marked")
  func reexec() {
    #expect(
      BLASCore.decide(core: "Prescott", cpuFlags: avx512, environment: [:])
        == .reexec(core: "SkylakeX", marker: "SkylakeX:Prescott"))
    #expect(
      BLASCore.decide(core: "Nehalem", cpuFlags: ["avx2", "fma"], environment: [:])
        == .reexec(core: "Haswell", marker: "Haswell:Nehalem"))
  }

  @Test("no re-execution for a fitting kernel, an old CPU, a user's value, an opt-out or a marked process")
  func keep() {
    #expect(
      BLASCore.decide(core: "Zen", cpuFlags: ["avx2", "fma"], environment: [:]) == .keep(reason: "chosen by OpenBLAS"))
    #expect(
      BLASCore.decide(core: "Prescott", cpuFlags: ["sse3"], environment: [:]) == .keep(reason: "chosen by OpenBLAS"))
    #expect(
      BLASCore.decide(core: "Prescott", cpuFlags: avx512, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        == .keep(reason: "set by user: OPENBLAS_CORETYPE=Prescott"))
    #expect(
      BLASCore.decide(core: "Prescott", cpuFlags: avx512, environment: ["GRADMIX_BLAS_CORETYPE": "keep"])
        == .keep(reason: "chosen by OpenBLAS; GRADMIX_BLAS_CORETYPE=keep"))
    let auto = ["OPENBLAS_CORETYPE": "SkylakeX", "GRADMIX_BLAS_AUTO": "SkylakeX:Prescott"]
    #expect(
      BLASCore.decide(core: "SkylakeX", cpuFlags: avx512, environment: auto)
        == .keep(reason: "auto: AVX-512 CPU, OpenBLAS chose Prescott"))
    // A user who changes the variable under an inherited marker is still the user.
    #expect(
      BLASCore.decide(
        core: "Haswell", cpuFlags: avx512, environment: auto.merging(["OPENBLAS_CORETYPE": "Haswell"]) { $1 })
        == .keep(reason: "set by user: OPENBLAS_CORETYPE=Haswell"))
    #expect(
      BLASCore.decide(
        core: "Prescott", cpuFlags: avx512, environment: ["GRADMIX_BLAS_AUTO": "fallback:SkylakeX:Prescott"])
        == .keep(reason: "fallback: the SkylakeX kernels failed the sgemm check, OpenBLAS chose Prescott"))
    #expect(
      BLASCore.decide(
        core: "Haswell", cpuFlags: avx512,
        environment: ["GRADMIX_BLAS_AUTO": "fallback:SkylakeX:Prescott", "OPENBLAS_CORETYPE": "Haswell"])
        == .keep(reason: "set by user: OPENBLAS_CORETYPE=Haswell"))
    // A marker without the variable never loops.
    if case .reexec = BLASCore.decide(
      core: "Prescott", cpuFlags: avx512, environment: ["GRADMIX_BLAS_AUTO": "SkylakeX:Prescott"])
    {
      Issue.record("a marked process re-executed again")
    }
  }

  @Test("the sgemm check passes on the loaded kernels and fails under the injected fault")
  func check() {
    let ok = BLASCore.check(faultCore: nil)
    #expect(ok.passed && ok.maxRelativeError < 1e-5, "\(ok.detail)")
    let bad = BLASCore.check(faultCore: BLASCore.name.uppercased())
    #expect(!bad.passed && bad.maxRelativeError > 1e-2, "\(bad.detail)")
  }
}
