import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into a request to stop after the current step:
/// the trainer then writes a checkpoint and exits 0 (`--resume` continues).
/// A second signal ends the process at once, with status 128 + the signal
/// (130 for SIGINT, 143 for SIGTERM; docs/CONFIG.md).
///
/// Choice: the second signal writes its line with write(2) and calls
/// `_exit`, never `exit`: `exit` runs the C and Swift teardown (OpenBLAS's
/// own destructor among it) while the main thread may still be inside a BLAS
/// call on the engine's threads, which crashed (issue #28). Nothing is lost:
/// files are written whole or not at all (temporary file and rename), so the
/// newest complete checkpoint is what `--resume` reads.
public final class StopSignal: @unchecked Sendable {
  public static let shared = StopSignal()
  private let lock = NSLock()
  private var requested = false
  private var sources: [DispatchSourceSignal] = []

  /// Installs the handlers (once).
  public func install() {
    lock.lock()
    defer { lock.unlock() }
    guard sources.isEmpty else { return }
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      // `data` counts the signals since the handler last ran: two close together arrive as one event.
      source.setEventHandler { [weak self] in self?.fire(sig, count: Int(source.data)) }
      source.resume()
      sources.append(source)
    }
  }

  private func fire(_ sig: Int32, count: Int) {
    lock.lock()
    let again = requested || count > 1
    requested = true
    lock.unlock()
    if again {
      let line = Array("interrupted again: exiting now\n".utf8)
      _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
      _exit(128 + sig)
    }
  }

  /// Whether a stop was requested.
  public var isRequested: Bool {
    lock.lock()
    defer { lock.unlock() }
    return requested
  }
}
