import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("domains on datasets on disk")
struct DiskDomainTests {
  @Test("a config's base mapping resolves relative paths against the config's folder and builds at model.input")
  func configBase() throws {
    setenv("GRADMIX_CACHE", "off", 1)
    let root = try ImageFolderTests.makeFolder()
    let dir = (root as NSString).deletingLastPathComponent
    let name = (root as NSString).lastPathComponent
    let yaml = """
      domains:
        shapes: {base: {format: imagefolder, path: \(name)}}
        shapes-inv: {base: shapes, transforms: [invert]}
      """
    let specs = try DomainCatalog.parseDomains(yaml: yaml, file: dir + "/sub/../c.yaml")
    #expect(specs["shapes"]?.dataset?.path == root)
    let catalog = try DomainCatalog(dataRoot: "", custom: specs, sampleShape: [1, 3, 3])
    let set = try catalog.build("shapes", split: .train, seed: 0)
    #expect(set.sampleShape == Shape([1, 3, 3]) && set.count == 6)
    let inv = try catalog.build("shapes-inv", split: .train, seed: 0)
    #expect(inv.pixels == set.pixels.map { 255 - $0 })
    #expect(try catalog.classNames(of: "shapes-inv") == ["a-square", "b-circle"])
    #expect(try catalog.classNames(of: "mnist") == nil)
    // Provenance: the folder a derived domain reads is fingerprinted once, by its listing.
    let digest = try #require(specs["shapes"]?.dataset?.listingDigest())
    #expect(catalog.folderListings(for: ["shapes-inv", "shapes", "mnist"]) == [root + "/": digest])
  }

  @Test("built-in domains fit any [C, H, W]; feature domains need [D] and no transforms")
  func shapes() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let grey = try DomainCatalog(dataRoot: root, sampleShape: [1, 28, 28]).build("mnist-m", split: .test, seed: 1)
    #expect(grey.sampleShape == Shape([1, 28, 28]) && grey.pixels.count == grey.count * 784)
    let small = try DomainCatalog(dataRoot: root, sampleShape: [3, 14, 14]).build("mnist", split: .test, seed: 1)
    #expect(small.sampleShape == Shape([3, 14, 14]))
    #expect(throws: DataError.shapeMismatch(what: "domain mnist", data: "images [1, 28, 28]", model: [784])) {
      _ = try DomainCatalog(dataRoot: root, sampleShape: [784]).build("mnist", split: .test, seed: 1)
    }
    for bad in [[2, 28, 28], [3, 0, 28], [1, 2], []] {
      #expect(throws: DataError.self) { _ = try DomainCatalog(dataRoot: root, sampleShape: bad) }
    }
    let x = FormatFixtures.npy("<f4", [5, 2], FormatFixtures.bytes((0..<10).map(Float.init)))
    let y = FormatFixtures.npy("<i8", [5], FormatFixtures.bytes((0..<5).map { Int64($0 % 2) }))
    let npz = try NPZTests.write(FormatFixtures.zip([("x_train.npy", x), ("y_train.npy", y)], deflate: true))
    let custom = [
      "f": DomainSpec(dataset: DiskDataset(format: .npz, path: npz)),
      "f-rot": DomainSpec(base: "f", transforms: [TransformSpec(op: "rotate", params: ["degrees": 5])]),
    ]
    let catalog = try DomainCatalog(dataRoot: root, custom: custom, sampleShape: [2])
    // Only the train part: every fifth sample of each class is test (the fixed partition).
    let train = try catalog.build("f", split: .train, seed: 0), test = try catalog.build("f", split: .test, seed: 0)
    #expect(train.count + test.count == 5 && train.isFeatures && train.sampleShape == Shape([2]))
    #expect(
      throws: DataError.badConfig(
        field: "domains.f-rot.transforms", detail: "transforms apply to images; this domain holds feature vectors")
    ) {
      _ = try catalog.build("f-rot", split: .train, seed: 0)
    }
  }

  @Test("an IDX pair with labels up to 255 is a domain; without a test pair it is partitioned 80/20")
  func idxPair() throws {
    let dir = try DataFixtures.tempDir()
    let set = DataFixtures.randomSet(count: 100, height: 4, width: 4, classCount: 20)
    var many = set
    many.labels = set.labels.map { $0 * 13 }  // 0, 13, ..., 247: far more than 10 classes
    try DataFixtures.writePair(many, images: dir + "/i", labels: dir + "/l")
    var d = DiskDataset(format: .idx)
    (d.images, d.labels) = (dir + "/i", dir + "/l")
    let catalog = try DomainCatalog(dataRoot: "", custom: ["d": DomainSpec(dataset: d)], sampleShape: [1, 4, 4])
    let train = try catalog.build("d", split: .train, seed: 0), test = try catalog.build("d", split: .test, seed: 0)
    #expect(train.count == 80 && test.count == 20 && Set(train.labels).count == 20 && train.labels.max() == 247)
    #expect(train == RawDataset.fixedPartition(many, split: .train))
    (d.testImages, d.testLabels) = (dir + "/i", dir + "/l")
    let both = try DomainCatalog(dataRoot: "", custom: ["d": DomainSpec(dataset: d)], sampleShape: [1, 4, 4])
    #expect(try both.build("d", split: .test, seed: 0) == many)
  }

  @Test("base mappings with a wrong format, key or missing path name the field")
  func badBase() throws {
    let cases: [(String, String)] = [
      ("d: {base: {format: tiff, path: x}}", "domains.d.base.format: is required: imagefolder, npz, idx"),
      ("d: {base: {format: npz}}", "domains.d.base.path: is required for format npz"),
      ("d: {base: {format: npz, path: x, folder: y}}", "domains.d.base.folder: unknown key for format npz"),
      ("d: {base: {format: idx, images: a}}", "domains.d.base: format idx needs 'images' and 'labels'"),
      ("d: {base: {format: npz, path: x, layout: hwcn}}", "domains.d.base.layout: must be nhwc or nchw, got 'hwcn'"),
    ]
    for (yaml, message) in cases {
      do {
        _ = try DomainCatalog.parseDomains(yaml: "domains:\n  " + yaml, file: "c.yaml")
        Issue.record("expected an error for \(yaml)")
      } catch let e as DataError {
        #expect(e.description.hasPrefix(message), "\(e)")
      }
    }
  }

  @Test("the held-out test split draws the test set from the other split only")
  func heldOut() throws {
    let train = DataFixtures.randomSet(count: 60, height: 2, width: 2, classCount: 3)
    let test = DataFixtures.randomSet(count: 30, height: 2, width: 2, classCount: 3, seed: 2)
    let s = try splitTarget(train, heldOut: test, classCount: 3, labelledPerClass: 2, unlabelled: 40, test: 12, seed: 5)
    #expect(s.labelled.count == 6 && s.unlabelled.count == 40 && s.test.count == 12)
    #expect(s.test == test.subset(s.testIndices) && s.test.classCounts(classCount: 3) == [4, 4, 4])
    #expect(Set(s.labelledIndices).isDisjoint(with: s.unlabelledIndices))
    #expect(throws: DataError.self) {
      _ = try splitTarget(train, heldOut: test, classCount: 3, labelledPerClass: 2, unlabelled: 40, test: 31, seed: 5)
    }
  }

  @Test("data that would not fit in memory is refused before it is allocated")
  func memory() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    // A task-local limit: the environment variable would reach the tests running beside this one.
    try DataMemory.$limitOverride.withValue(1000) {
      do {
        _ = try DomainCatalog(dataRoot: root, sampleShape: [3, 64, 64]).build("mnist", split: .test, seed: 1)
        Issue.record("expected outOfMemory")
      } catch let e as DataError {
        #expect(e.description.contains("needs") && e.description.contains("only 0.0 MiB are available"), "\(e)")
      }
    }
  }
}
