import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Opens `path` for reading if it is a non-empty regular file, with the
/// readers' errors (a FIFO or a folder is never opened, so nothing blocks).
///
/// - Returns: the descriptor (the caller closes it) and the file's size.
/// - Throws: ``DataError/fileNotFound(path:)``, ``DataError/notAFile(path:)``,
///   ``DataError/empty(path:)`` or ``DataError/unreadable(path:reason:)``.
func openDataFile(_ path: String) throws -> (fd: Int32, size: Int) {
  var st = stat()
  guard stat(path, &st) == 0 else {
    if errno == ENOENT || errno == ENOTDIR { throw DataError.fileNotFound(path: path) }
    throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
  }
  guard (st.st_mode & S_IFMT) == S_IFREG else { throw DataError.notAFile(path: path) }
  guard st.st_size > 0 else { throw DataError.empty(path: path) }
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
  return (fd, Int(st.st_size))
}
