import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

/// The fetched data root (`$GRADMIX_DATA` or the repository's `data/raw`), if it holds MNIST.
let realDataRoot: String? = {
  let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  let root = ProcessInfo.processInfo.environment["GRADMIX_DATA"] ?? repo.appendingPathComponent("data/raw").path
  return FileManager.default.fileExists(atPath: root + "/mnist/SOURCE") ? root : nil
}()

@Suite("real data")
struct RealDataTests {
  @Test(
    "every predefined domain builds from the fetched data with the expected shapes and class counts",
    .enabled(if: realDataRoot != nil, "no fetched data: run scripts/fetch-data.sh (or set GRADMIX_DATA)"))
  func predefinedDomains() throws {
    let root = try #require(realDataRoot)
    let catalog = try DomainCatalog(dataRoot: root)
    let subset = (try? String(contentsOfFile: root + "/mnist/SOURCE", encoding: .utf8))?.contains("subset") ?? false
    let mnistTest = subset ? Array(repeating: 100, count: 10) : [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    let expected: [String: (train: Int, test: [Int])] = [
      "mnist": (subset ? 4_000 : 60_000, mnistTest),
      "mnist-m": (subset ? 4_000 : 60_000, mnistTest),
      "fashion": (60_000, Array(repeating: 1_000, count: 10)),
      "syndigits": (25_000, Array(repeating: 500, count: 10)),
      "uci": (1_442, [35, 36, 35, 36, 36, 36, 36, 35, 34, 36]),
    ]
    #expect(Set(catalog.names) == Set(expected.keys))
    for (name, counts) in expected.sorted(by: { $0.key < $1.key }) {
      let test = try catalog.build(name, split: .test, seed: 1)
      #expect(test.height == 28 && test.width == 28 && test.channels == 3, "\(name)")
      #expect(test.classCounts(classCount: 10) == counts.test, "\(name)")
      // Train: check the count on the raw split and build a spread-out sample of it.
      let base = try catalog.rawBase(of: name).load(split: .train, root: root)
      #expect(base.count == counts.train, "\(name)")
      let picks = Array(stride(from: 0, to: base.count, by: max(1, base.count / 500)))
      let train = try catalog.build(name, split: .train, seed: 1, indices: picks)
      #expect(train.count == picks.count && train.labels == picks.map { base.labels[$0] }, "\(name)")
      let stats = train.channelStatistics()
      #expect(stats.max.allSatisfy { $0 > 200 } && stats.std.allSatisfy { $0 > 20 }, "\(name): \(stats)")
    }
    // MNIST-M differs from MNIST in colour: its channels are no longer equal.
    let m = try catalog.build("mnist-m", split: .test, seed: 1, indices: Array(0..<50))
    #expect((0..<(m.pixels.count / 3)).contains { m.pixels[3 * $0] != m.pixels[3 * $0 + 1] })
  }
}
