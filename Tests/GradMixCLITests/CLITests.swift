import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

@Suite("gradmix command line")
struct CLITests {
  func tempDir() throws -> String { try makeTemporaryDirectory("gradmix-cli") }

  /// The MPI smoke test: started without mpirun, the binary is a singleton.
  @Test("gradmix info initialises MPI as rank 0 of 1")
  func infoSingleton() throws {
    let r = try runProduct(["info"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("rank 0 of 1"), "\(r.stdout)")
    #expect(r.stdout.contains("OpenBLAS"), "\(r.stdout)")
  }

  @Test("gradmix info --methods lists each method train accepts, once, and nothing else")
  func infoMethods() throws {
    let r = try runProduct(["info", "--methods"])
    #expect(r.status == 0, "\(r.stderr)")
    let names = r.stdout.split(separator: "\n").map(String.init)
    #expect(Set(names).count == names.count && names.count >= 8, "\(names)")
    for m in ["target-only", "uniform", "l2rw", "pcgrad-target", "gradmix", "gated-pcgrad"] {
      #expect(names.contains(m), "missing \(m)")
    }
    // Every listed name is a method train accepts (an unknown one fails before any data is read).
    let bad = try runProduct(["train", "--method", "no-such-method"])
    #expect(bad.status != 0)
    // A renamed method is refused with its new name: exit 2, one error line (Method.removed).
    for (old, now) in [("gradmix-paper", "now called gradmix"), ("gradmix-no-pl", "now called gated-pcgrad-no-pl")] {
      let renamed = try runProduct(["train", "--method", old])
      let lines = renamed.stderr.split(separator: "\n")
      #expect(renamed.status == 2 && lines.count == 1, "\(renamed.stderr)")
      #expect(lines.first?.hasPrefix("error:") == true && lines.first?.contains(now) == true, "\(renamed.stderr)")
    }
    let help = try runProduct(["train", "--help"])
    for m in names { #expect(help.stdout.contains(m), "train --help lacks \(m)") }
    // The suite's methods: a subset, in its table order, ours last.
    let suite = try runProduct(["info", "--methods", "--suite"]).stdout.split(separator: "\n").map(String.init)
    #expect(
      suite.first == "uniform" && suite.last == "gated-pcgrad" && suite.dropLast().last == "gradmix"
        && Set(suite).isSubset(of: names), "\(suite)")
  }

  @Test("gradmix table --values: the statistics of given values, as a JSON list of tables")
  func tableValues() throws {
    let dir = try makeTemporaryDirectory("gradmix-values")
    let file = dir + "/v.json"
    let one = #"{"metric":"m","groups":[{"group":"a","values":{"1":1,"2":3}}]}"#
    let paired =
      #"{"metric":"m","baseline":"b","groups":[{"group":"a","values":{"1":1,"2":3}},"#
      + #"{"group":"b","values":{"1":0,"2":1}}]}"#
    try Data("[\(one),\(paired)]".utf8).write(to: URL(fileURLWithPath: file))
    let r = try runProduct(["table", "--values", file])
    #expect(r.status == 0, "\(r.stderr)")
    /// The keys scripts/report/gradmix_tool.py reads.
    struct Table: Decodable {
      struct Group: Decodable {
        let mean: Double
        let ci95_half_width: Double?
        let diff_mean: Double?
        let diff_pairs: Int?
      }
      let groups: [Group]
    }
    let tables = try JSONDecoder().decode([Table].self, from: Data(r.stdout.utf8))
    // Mean 2, sd √2, half-width t(0.975, 1)·√2/√2 = 12.706; the paired difference (1, 2): mean 1.5.
    #expect(tables.count == 2 && tables[0].groups[0].mean == 2)
    #expect(abs((tables[0].groups[0].ci95_half_width ?? 0) - 12.7062) < 1e-3)
    #expect(tables[1].groups[0].diff_mean == 1.5 && tables[1].groups[0].diff_pairs == 2)
    #expect(try runProduct(["table", "--values", file, dir]).status != 0)  // values or runs, not both
  }

  @Test("bench engine writes the JSON records the README table is built from")
  func benchEngineJSON() throws {
    let dir = try tempDir()
    let json = dir + "/engine.json"
    let r = try runProduct([
      "bench", "engine", "--batches", "2,3", "--threads", "1", "--repeats", "2", "--steps", "1",
      "--warmup", "0", "--json", json,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let records = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [[String: Any]])
    #expect(records.count == 4)  // 2 modes x 2 batches x 1 thread count
    for rec in records {
      #expect(["train", "infer"].contains(rec["mode"] as? String))
      #expect([2, 3].contains(rec["batch"] as? Int))
      #expect(rec["threads"] as? Int == 1)
      #expect((rec["images_per_second"] as? Double ?? 0) > 0)
    }
    #expect(r.stdout.contains("images/s"))
  }

  @Test("bad options are rejected with a message and exit code 2")
  func badOptions() throws {
    let r = try runProduct(["bench", "engine", "--batches", "0"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("--batches"), "\(r.stderr)")
    let s = try runProduct(["bench", "engine", "--spec", "conv32k5-bogus"])
    #expect(s.status != 0)
    #expect(s.stderr.contains("bogus"), "\(s.stderr)")
  }

  @Test("a removed option (--overlap) says it was removed, exit code 2, before anything is read")
  func removedOption() throws {
    let r = try runProduct(["train", "--config", "/nonexistent/c.yaml", "--overlap"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("--overlap was removed"), "\(r.stderr)")
  }

  @Test("inspect-checkpoint lists a valid checkpoint and names the fault in a broken one")
  func inspectCheckpoint() throws {
    let dir = try tempDir()
    let model = try Sequential(spec: "conv4k3-relu-pool2-fc3", inputShape: Shape([1, 8, 8]))
    let path = dir + "/c.safetensors"
    try Checkpoint.save(
      to: path, model: model, parameters: model.makeParameters(seed: 1),
      metadata: CheckpointMetadata(model: model, step: 7, extra: ["method": "gradmix"]))
    let ok = try runProduct(["inspect-checkpoint", path])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(
      ok.stdout.contains("step:       7") && ok.stdout.contains("conv1.weight") && ok.stdout.contains("[4, 1, 3, 3]"),
      "\(ok.stdout)")
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
    let bad = try runProduct(["inspect-checkpoint", path])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains(path) && bad.stderr.contains("truncated"), "\(bad.stderr)")
  }
}
