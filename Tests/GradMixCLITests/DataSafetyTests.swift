import Foundation
import GradMixData
import GradMixTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The data a run reads: special files and resumes on other data (issue #28, rows 3 and 4).
@Suite("Data safety", .serialized)
struct DataSafetyTests {
  static let config = SmallRunConfig.text(steps: 8, evalEvery: 4, logEvery: 2, extra: ["checkpoint_every: 2"])

  /// A copy of the synthetic data root with a FIFO as `file` (replacing the file if `replace`).
  static func rootWithFIFO(_ dir: String, _ file: String, replace: Bool = true) throws -> String {
    let copy = dir + "/root"
    try FileManager.default.copyItem(atPath: SmallRunConfig.root, toPath: copy)
    if replace { try FileManager.default.removeItem(atPath: copy + "/" + file) }
    #expect(mkfifo(copy + "/" + file, 0o644) == 0)
    return copy
  }

  /// Runs `arguments` while a watchdog stands by: if the run is still going
  /// after `seconds`, the watchdog opens the FIFO for writing and closes it (a
  /// reader blocked in open(2) then sees an empty file), and reports that it had to.
  static func runUnblocking(_ fifo: String, seconds: Double, _ run: () throws -> ProcessResult) throws
    -> (ProcessResult, Bool)
  {
    nonisolated(unsafe) var done = false
    nonisolated(unsafe) var fired = false
    let lock = NSLock()
    let watchdog = Thread {
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline {
        if lock.withLock({ done }) { return }
        usleep(50_000)
      }
      // Keep unblocking readers until the run ends.
      while !lock.withLock({ done }) {
        let fd = open(fifo, O_WRONLY | O_NONBLOCK)
        if fd >= 0 {
          lock.withLock { fired = true }
          close(fd)
        }
        usleep(50_000)
      }
    }
    watchdog.start()
    let r = try run()
    lock.withLock { done = true }
    return (r, lock.withLock { fired })
  }

  @Test(
    "a data file that is a FIFO: exit 2 with one line naming it, in one process and under mpirun; a FIFO beside the data files is never opened",
    arguments: [1, 2])
  func fifo(_ ranks: Int) throws {
    if ranks > 1 && mpirunPath == nil { return }
    let dir = try makeTemporaryDirectory("gradmix-fifo")
    try Data(Self.config.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let root = try Self.rootWithFIFO(dir, "mnist/train-images-idx3-ubyte")
    let args = ["train", "--config", dir + "/c.yaml", "--data-root", root, "--out", dir + "/run", "--quiet"]
    let (r, blocked) = try Self.runUnblocking(root + "/mnist/train-images-idx3-ubyte", seconds: 30) {
      ranks == 1 ? try runProduct(args) : try MPITests.mpi(ranks, "gradmix", args)
    }
    #expect(!blocked, "the run blocked opening the FIFO")
    #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
    let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(r.stderr)")
    #expect(errors.first?.contains("train-images-idx3-ubyte") == true, "\(r.stderr)")
    #expect(errors.first?.contains("not a regular file") == true, "\(r.stderr)")

    // A FIFO among the files of a data set's folder that the loader does not read (e.g. SOURCE).
    let dir2 = try makeTemporaryDirectory("gradmix-fifo")
    let root2 = try Self.rootWithFIFO(dir2, "mnist/NOTES", replace: false)
    let args2 = ["train", "--config", dir + "/c.yaml", "--data-root", root2, "--out", dir2 + "/run", "--quiet"]
    let (r2, blocked2) = try Self.runUnblocking(root2 + "/mnist/NOTES", seconds: 30) { try runProduct(args2) }
    #expect(!blocked2, "the run blocked opening a FIFO it does not read")
    #expect(r2.status == 0, "\(r2.stderr)")
  }

  /// `--resume` on other data is refused before anything is trained: the
  /// provenance hashes in run.json are compared, relative to each data root.
  @Test("--resume with another --data-root holding other bytes: exit 2, one line naming the file; a moved copy is fine")
  func resumeOtherData() throws {
    let dir = try makeTemporaryDirectory("gradmix-resume-data")
    try Data(Self.config.utf8).write(to: URL(fileURLWithPath: dir + "/c.yaml"))
    let r = try runProduct([
      "train", "--config", dir + "/c.yaml", "--data-root", SmallRunConfig.root, "--out", dir + "/run", "--quiet",
      "--stop-after", "3",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let other = dir + "/other"
    try FileManager.default.copyItem(atPath: SmallRunConfig.root, toPath: other)
    let file = other + "/syndigits/train-images-idx4-ubyte"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    bytes[bytes.count - 10] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: file))
    let metricsBefore = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/metrics.jsonl"))
    let refused = try runProduct(["train", "--resume", dir + "/run", "--data-root", other, "--quiet"])
    #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
    let errors = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(refused.stderr)")
    #expect(errors.first?.contains("syndigits/train-images-idx4-ubyte") == true, "\(refused.stderr)")
    #expect(errors.first?.contains("run.json") == true, "\(refused.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/metrics.jsonl")) == metricsBefore)
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/summary.json"))
    // The same bytes under another root (a moved data set) resume.
    let moved = dir + "/moved"
    try FileManager.default.copyItem(atPath: SmallRunConfig.root, toPath: moved)
    let resumed = try runProduct(["train", "--resume", dir + "/run", "--data-root", moved, "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
  }
}
