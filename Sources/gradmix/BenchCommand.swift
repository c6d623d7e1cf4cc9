import ArgumentParser
import Foundation
import GradMixBenchmarks
import GradMixCore
import GradMixEngine

/// `gradmix bench ...`: throughput benchmarks whose numbers go into the README.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Benchmarks.", subcommands: [EngineBenchCommand.self, CommBenchCommand.self])
}

/// `gradmix bench engine`: training and inference images/s of a model.
struct EngineBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine",
    abstract: "Training and inference throughput of the engine (images/s).",
    discussion: """
      Same method as scripts/bench_torch.py: 5 warm-up steps, then --repeats runs of \
      --steps steps; the median run is reported. Train = forward + loss + backward + SGD.
      """)

  @Option(help: "Model spec.")
  var spec = "conv32k5-relu-pool2-conv64k5-relu-pool2-fc512-relu-fc10"

  @Option(help: "Input shape C,H,W.")
  var input = "3,28,28"

  @Option(help: "Comma-separated batch sizes.")
  var batches = "64,128"

  @Option(help: "Comma-separated BLAS/engine thread counts.")
  var threads = "1,2"

  @Option(help: "Comma-separated modes (train, infer).")
  var modes = "train,infer"

  @Option(help: "Timed runs per configuration.")
  var repeats = 7

  @Option(help: "Steps per timed run.")
  var steps = 20

  @Option(help: "Untimed warm-up steps per configuration.")
  var warmup = 5

  @OptionGroup var records: JSONRecordsOption

  @Option(help: "Size of a convolution's im2col chunk in KiB (engine tuning).")
  var convChunkKib: Int?

  @Flag(help: "Print the time per layer and pass for each configuration.")
  var profile = false

  @Flag(
    help:
      "For each configuration on one thread, also time the step's sgemm calls alone (same shapes, one thread, back to back) and print the engine's share of that bound. A product the engine's own row GEMM computes (AVX-512 machines) counts as the sgemm call the im2col path makes for it."
  )
  var sgemmBound = false

  func parseList(_ s: String, _ name: String) throws -> [Int] {
    let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else {
      throw ValidationError("--\(name) must be a comma-separated list of positive integers, got '\(s)'")
    }
    return v.map { $0! }
  }

  func validate() throws {
    _ = try parseList(batches, "batches")
    _ = try parseList(threads, "threads")
    _ = try parseList(input, "input")
    guard repeats > 0, steps > 0, warmup >= 0 else {
      throw ValidationError("--repeats and --steps must be positive and --warmup non-negative")
    }
    for m in modes.split(separator: ",") where EngineBenchmark.RunMode(rawValue: String(m)) == nil {
      throw ValidationError("--modes: unknown mode '\(m)' (use train, infer)")
    }
    // Checked before a minute of benchmarking (issue #28): the --json folder, and each batch's memory.
    try records.checkFolder()
    if let model = try? Sequential(spec: spec, inputShape: Shape(try parseList(input, "input"))),
      let available = AvailableMemory.current()
    {
      for b in try parseList(batches, "batches") {
        let need = MemoryEstimate.workspaceBytes(model: model, batch: b) + Double(model.parameterCount) * 16
        guard need <= available.bytes else {
          throw ValidationError(
            "--batches: a batch of \(b) needs about \(MemoryEstimate.format(need)) of memory but \(MemoryEstimate.format(available.bytes)) are available (\(available.source))"
          )
        }
      }
    }
  }

  func run() throws {
    if let kib = convChunkKib {
      guard kib > 0 else { throw ValidationError("--conv-chunk-kib must be positive") }
      Conv2D.defaultChunkFloats = kib * 256
    }
    let model: Sequential
    do {
      model = try Sequential(spec: spec, inputShape: Shape(try parseList(input, "input")))
    } catch let e as ModelSpecError {
      throw ValidationError("--spec: \(e.description)")
    }
    var bench = EngineBenchmark(model: model)
    bench.warmup = warmup; bench.repeats = repeats; bench.steps = steps
    print("engine benchmark: \(spec) on \(model.inputShape), \(model.parameterCount) parameters")
    print("BLAS: \(BLAS.configuration)")
    print("method: \(warmup) warm-up steps, median of \(repeats) runs of \(steps) steps")
    print("")
    print("mode    batch  threads  images/s (median)      min      max  ms/step")
    var records: [[String: Any]] = []
    for mode in modes.split(separator: ",").compactMap({ EngineBenchmark.RunMode(rawValue: String($0)) }) {
      for b in try parseList(batches, "batches") {
        for t in try parseList(threads, "threads") {
          let prof = profile ? LayerProfile(model: model) : nil
          let recorder = sgemmBound && t == 1 ? GemmRecorder() : nil
          let r = bench.run(mode: mode, batch: b, threads: t, profile: prof, recorder: recorder)
          print(
            String(
              format: "%-6@ %6d %8d %19.1f %8.1f %8.1f %8.2f", mode.rawValue, b, t, r.imagesPerSecond,
              r.imagesPerSecondMin, r.imagesPerSecondMax, r.secondsPerStep * 1000))
          if let prof { printProfile(prof, steps: repeats * steps) }
          var bound: [String: Any] = [:]
          if let recorder {
            let calls = recorder.calls
            let seconds = BLAS.withThreads(1) { GemmRecorder.replaySeconds(calls, repeats: repeats) }
            let flops = calls.reduce(0) { $0 + $1.flops }
            let share = seconds / r.secondsPerStep
            print(
              String(
                format:
                  "    sgemm-only bound: %.2f ms/step (%d calls, %.1f GFLOP/s, one thread); engine %.2f ms/step: %.1f%% of the bound's speed",
                seconds * 1000, calls.count, flops / seconds / 1e9, r.secondsPerStep * 1000, share * 100))
            bound = ["sgemm_seconds": seconds, "sgemm_calls": calls.count, "sgemm_share": share]
          }
          records.append(
            [
              "engine": "gradmix", "spec": spec, "mode": mode.rawValue, "batch": b, "threads": t,
              "images_per_second": r.imagesPerSecond, "images_per_second_min": r.imagesPerSecondMin,
              "images_per_second_max": r.imagesPerSecondMax, "samples": r.samples,
              "repeats": repeats, "steps": steps, "warmup": warmup,
            ].merging(bound) { $1 })
        }
      }
    }
    try self.records.write(records, appending: false)
    if let json = self.records.json { print("\nwrote \(json)") }
  }

  func printProfile(_ p: LayerProfile, steps: Int) {
    let total = (p.forwardSeconds + p.backwardSeconds).reduce(0, +)
    for (i, t) in p.tokens.enumerated() where p.forwardSeconds[i] + p.backwardSeconds[i] > 0 {
      let f = p.forwardSeconds[i] / Double(steps) * 1000, b = p.backwardSeconds[i] / Double(steps) * 1000
      print(
        String(
          format: "    %-16@ forward %7.3f ms  backward %7.3f ms  (%4.1f%%)", t, f, b,
          100 * (p.forwardSeconds[i] + p.backwardSeconds[i]) / total))
    }
  }
}
