import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Writes files so that a reader sees either the old file or the complete
/// new one, never a partial one: write to a temporary file in the same
/// folder, `fsync` it, `rename` it over the target, then `fsync` the folder.
public enum AtomicFile {
  /// Replaces (or creates) `path` with `data`.
  /// - Throws: ``CheckpointError/writeFailed(path:reason:)``.
  public static func write(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: errnoString()) }
    var ok = false
    defer {
      if !ok { unlink(tmp) }
    }
    let written: Int = data.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
        if n < 0 { if errno == EINTR { continue }; return -1 }
        done += n
      }
      return done
    }
    if written != data.count {
      let reason = errnoString()
      close(fd)
      throw CheckpointError.writeFailed(path: path, reason: reason)
    }
    if fsync(fd) != 0 {
      let reason = errnoString()
      close(fd)
      throw CheckpointError.writeFailed(path: path, reason: "fsync: " + reason)
    }
    close(fd)
    guard rename(tmp, path) == 0 else {
      throw CheckpointError.writeFailed(path: path, reason: "rename: " + errnoString())
    }
    ok = true
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 { _ = fsync(dfd); close(dfd) }
  }

  static func errnoString() -> String { String(cString: strerror(errno)) }
}
