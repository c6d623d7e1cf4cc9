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
