import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@testable import GradMixData

@Suite("gradmix data inspect")
struct DataCommandTests {
  @Test("inspect prints a domain's summary and writes its grid")
  func inspectDomain() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let png = root + "/g.png"
    let r = try runProduct([
      "data", "inspect", "mnist-m", "--data-root", root, "--split", "test", "--grid", png, "--per-class", "2",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(
      r.stdout.contains("count:     20") && r.stdout.contains("[3, 28, 28]") && r.stdout.contains("0=2 1=2"),
      "\(r.stdout)")
    #expect(r.stdout.contains("channel 2: mean"))
    #expect(Array(try FileBytes.readRaw(png).prefix(8)) == PNG.signature)
    let file = try runProduct(["data", "inspect", root + "/syndigits/train-images-idx4-ubyte"])
    #expect(
      file.status == 0 && file.stdout.contains("labels:    \(root)/syndigits/train-labels-idx1-ubyte"), "\(file.stderr)"
    )
    let csv = try runProduct(["data", "inspect", root + "/uci/digits.csv.gz"])
    #expect(
      csv.status == 0 && csv.stdout.contains("count:     50") && csv.stdout.contains("values 0-16"), "\(csv.stderr)")
  }

  @Test("bad input prints one line naming the file or field, exits with 2 and writes nothing")
  func inspectErrors() throws {
    let root = try DataFixtures.dataRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let png = root + "/never.png"
    let bad = root + "/bad-images-idx3-ubyte"
    try DataFixtures.writeBytes([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2], to: bad)
    let config = root + "/c.yaml"
    try DataFixtures.writeBytes(Array("domains:\n  d: {base: mnist, transforms: [{op: blur}]}\n".utf8), to: config)
    let cases: [([String], String)] = [
      ([bad, "--grid", png], "error: \(bad): the file is truncated: its header needs 52 bytes but it holds 18"),
      ([root + "/missing.csv", "--grid", png], "error: \(root)/missing.csv: file not found"),
      (
        ["svhn", "--data-root", root, "--grid", png],
        "error: svhn: unknown domain; known domains: fashion, mnist, mnist-m, syndigits, uci"
      ),
      (
        ["d", "--data-root", root, "--config", config, "--grid", png],
        "error: \(config): domains.d.transforms[0].op: unknown transform 'blur'"
      ),
      (
        ["mnist", "--data-root", root + "/nowhere", "--grid", png],
        "error: \(root)/nowhere/mnist/train-images-idx3-ubyte: file not found"
      ),
    ]
    for (args, message) in cases {
      let r = try runProduct(["data", "inspect"] + args)
      #expect(r.status == 2, "\(args): \(r.stderr)")
      #expect(r.stderr.hasPrefix(message) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: png))
    }
  }
}
