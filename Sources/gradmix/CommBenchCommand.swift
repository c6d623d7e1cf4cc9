import ArgumentParser
import Foundation
import GradMixBenchmarks
import GradMixCore
import GradMixDistributed
import GradMixEngine

/// `gradmix bench comm`: the per-step communication of each mixing protocol.
struct CommBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "comm",
    abstract: "Per-step communication time and bytes of each mixing protocol (run under mpirun).",
    discussion: """
      For each parameter count and protocol (data-parallel, allreduce-recompute, allreduce-bcast, \
      gather) runs the step's exchange on synthetic buffers with the trainer's own code (the statistics \
      allreduce, the g_T broadcast, the AllreduceMixing or GatherMixing strategy; data-parallel is one raw \
      allreduce), --repeats times after a barrier, and reports the median seconds and rank 0's payload \
      bytes. scripts/bench-comm.sh runs it for several rank counts and transports, fits the alpha-beta \
      model and draws the plot.
      """)

  @Option(help: "Comma-separated parameter counts (floats).")
  var params = "10000,100000,1000000,10000000"

  @Option(help: "Comma-separated protocols.")
  var protocols = CommBenchmark.Step.allCases.map(\.rawValue).joined(separator: ",")

  @Option(help: "Sources per worker rank.")
  var sourcesPerWorker = 1

  @Option(help: "Layers (for the size of the K×L dot-product exchange).")
  var layers = 4

  @Option(help: "Timed steps per configuration (median reported).")
  var repeats = 15

  @Option(help: "Label of the transport in the records (e.g. shm, tcp); informational.")
  var transport = "default"

  @OptionGroup var records: JSONRecordsOption

  @Option(
    help:
      "Run the collectives under the step watchdog with this timeout (as train --step-timeout), to measure its cost.")
  var stepTimeout: Double?

  func run() throws {
    let world = try MPICommunicator.start()
    let counts = params.split(separator: ",").compactMap { Int(Double($0) ?? -1) }
    let list = protocols.split(separator: ",").compactMap { CommBenchmark.Step(rawValue: String($0)) }
    guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }), !list.isEmpty, repeats > 0, sourcesPerWorker > 0 else {
      if world.rank == 0 { printError("error: bad --params, --protocols, --repeats or --sources-per-worker") }
      world.finalize()
      throw ExitCode(2)
    }
    if let stepTimeout {
      guard stepTimeout > 0 && stepTimeout <= Launch.maxStepTimeout else {
        if world.rank == 0 {
          printError(
            "error: --step-timeout must be a positive number of seconds, at most \(Int(Launch.maxStepTimeout))")
        }
        world.finalize()
        throw ExitCode(2)
      }
      try world.startWatchdog(timeout: stepTimeout)
    }
    var bench = CommBenchmark(communicator: world)
    bench.sourcesPerWorker = sourcesPerWorker
    bench.layers = layers
    bench.repeats = repeats
    var records: [[String: Any]] = []
    if world.rank == 0 {
      printLine(
        "comm benchmark: \(world.worldSize) ranks, transport \(transport), \(sourcesPerWorker) source(s) per worker, \(layers) layers, median of \(repeats)"
          + (stepTimeout.map { ", step watchdog \(String(format: "%g", $0)) s" } ?? ""))
      printLine("protocol                params  median ms     min ms   rank-0 MB sent   MB received")
    }
    do {
      for n in counts {
        for p in list {
          let r = try bench.run(p, params: n)
          guard world.rank == 0 else { continue }
          printLine(
            r.protocolName.padding(toLength: 20, withPad: " ", startingAt: 0)
              + String(
                format: " %9d %10.3f %10.3f %16.3f %13.3f", n, r.medianSeconds * 1000, r.minSeconds * 1000,
                Double(r.bytesSent) / 1e6, Double(r.bytesReceived) / 1e6))
          records.append([
            "protocol": r.protocolName, "params": n, "world_size": r.worldSize, "sources": r.sources,
            "layers": r.layers,
            "median_seconds": r.medianSeconds, "min_seconds": r.minSeconds, "bytes_sent": r.bytesSent,
            "bytes_received": r.bytesReceived, "collective_seconds": r.collectiveSeconds,
            "collective_bytes": r.collectiveBytes, "transport": transport, "repeats": repeats,
            "step_timeout": stepTimeout ?? NSNull(),
          ])
        }
      }
    } catch {
      world.abort(code: 1, message: "\(error)")
    }
    if world.rank == 0 { try self.records.write(records, appending: true) }
    world.finalize()
  }
}
