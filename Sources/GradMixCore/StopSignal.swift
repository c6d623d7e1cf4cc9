import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into a request to stop after the current step:
/// the trainer then writes a checkpoint and exits 0 (`--resume` continues).
/// A second signal ends the process at once.
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
      source.setEventHandler { [weak self] in self?.fire(sig) }
      source.resume()
      sources.append(source)
    }
  }

  private func fire(_ sig: Int32) {
    lock.lock()
    let again = requested
    requested = true
    lock.unlock()
    if again {
      FileHandle.standardError.write(Data("interrupted again: exiting now\n".utf8))
      exit(128 + sig)
    }
  }

  /// Whether a stop was requested.
  public var isRequested: Bool {
    lock.lock()
    defer { lock.unlock() }
    return requested
  }
}
