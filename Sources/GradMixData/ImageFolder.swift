import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads an image-folder dataset: `ROOT/<split>/<class name>/*.png|*.jpg|*.jpeg`.
///
/// Classes are the sorted union of the class folder names over all split
/// folders, so a class has the same index in every split (label `i` is the
/// i-th name). Files are listed in name order; names starting with `.` and
/// files with other extensions are skipped. Images are decoded in parallel
/// (``ImageDecoder``), converted to the wanted channel count and fitted to
/// the wanted size (``WorkImage/fitted(height:width:)``), and the result is
/// cached (``DecodedCache``) keyed by every file's path, size and mtime, so an
/// unchanged folder loads from one file on the next run.
enum ImageFolder {
  static let extensions: Set<String> = ["png", "jpg", "jpeg"]
  /// The largest decoded image accepted: 256 MiB (a 9,000 x 9,000 RGB photo).
  static let maxImageBytes = 1 << 28

  /// One image file to read.
  struct Entry {
    let path: String
    let label: Int32
    let size: Int
    let mtime: Int
  }

  /// The class names: sorted folder names under any of the split folders that exist.
  ///
  /// - Throws: ``DataError/fileNotFound(path:)`` if no split folder exists, and
  ///   ``DataError/badFormat(path:detail:)`` for fewer than 2 classes.
  static func classNames(root: String, splitFolders: [String]) throws -> [String] {
    var names = Set<String>()
    var found = false
    for s in splitFolders {
      let dir = root + "/" + s
      guard isDirectory(dir) else { continue }
      found = true
      for n in try list(dir) where isDirectory(dir + "/" + n) { names.insert(n) }
    }
    guard found else { throw DataError.fileNotFound(path: root + "/" + (splitFolders.first ?? "train")) }
    guard names.count >= 2 else {
      throw DataError.badFormat(
        path: root,
        detail:
          "an image folder needs at least 2 class folders under \(splitFolders.joined(separator: "/")), found \(names.count)"
      )
    }
    return names.sorted()
  }

  /// The image files of one split folder, with their labels.
  static func entries(root: String, split: String, classes: [String]) throws -> [Entry] {
    let dir = root + "/" + split
    var out = [Entry]()
    for (label, name) in classes.enumerated() {
      let cdir = dir + "/" + name
      guard isDirectory(cdir) else { continue }
      for f in try list(cdir) {
        let ext = (f as NSString).pathExtension.lowercased()
        guard extensions.contains(ext) else { continue }
        let p = cdir + "/" + f
        var st = stat()
        guard stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
        out.append(
          Entry(
            path: p, label: Int32(label), size: Int(st.st_size),
            mtime: Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)))
      }
    }
    guard !out.isEmpty else {
      throw DataError.badFormat(path: dir, detail: "no .png or .jpg file in any class folder")
    }
    // Choice: every class needs training images; an empty train/<class> trained without the class (issue #28).
    if split == "train", let empty = classes.indices.first(where: { c in !out.contains { $0.label == Int32(c) } }) {
      throw DataError.badFormat(
        path: dir + "/" + classes[empty],
        detail: "no .png or .jpg file: every class (\(classes.joined(separator: ", "))) needs training images")
    }
    return out
  }

  /// Loads one split at `channels` x `height` x `width`, from the cache when it is current.
  ///
  /// - Throws: the errors of ``entries(root:split:classes:)``, ``DataMemory/check(_:what:)``
  ///   and ``ImageDecoder/decode(_:path:maxBytes:)`` (the first failing file in order).
  static func load(
    root: String, split: String, classes: [String], channels: Int, height: Int, width: Int,
    cacheDirectory: String? = nil
  ) throws -> ImageSet {
    let files = try entries(root: root, split: split, classes: classes)
    let size = channels * height * width
    guard let total = DataMemory.product([files.count, size]) else {
      throw DataError.outOfMemory(what: root + "/" + split, needed: Int.max, available: DataMemory.available)
    }
    try DataMemory.check(total, what: "\(root)/\(split) (\(files.count) images of \([channels, height, width]))")
    let key = DecodedCache.key(files: files, shape: [channels, height, width])
    let cache = DecodedCache(name: "imagefolder-\(root)/\(split)", directory: cacheDirectory)
    if let hit = cache?.read(key: key, count: files.count, shape: [channels, height, width]) { return hit }
    var pixels = [UInt8](repeating: 0, count: total)
    let failures = FailureBox()
    let chunks = min(files.count, 64)
    pixels.withUnsafeMutableBufferPointer { buf in
      nonisolated(unsafe) let px = buf
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let lo = files.count * chunk / chunks, hi = files.count * (chunk + 1) / chunks
        for k in lo..<hi {
          do {
            let bytes = try FileBytes.readRaw(files[k].path)
            let img = try ImageDecoder.decode(bytes, path: files[k].path, maxBytes: maxImageBytes)
              .converted(channels: channels).fitted(height: height, width: width)
            for j in 0..<size { px[k * size + j] = img.px[j] }
          } catch {
            failures.record(k, error)
            return
          }
        }
      }
    }
    if let error = failures.first { throw error }
    let set = ImageSet(height: height, width: width, channels: channels, pixels: pixels, labels: files.map(\.label))
    cache?.write(set, key: key)
    return set
  }

  static func isDirectory(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
  }

  /// The visible entries of a folder, sorted by name.
  static func list(_ dir: String) throws -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
    } catch {
      throw DataError.unreadable(path: dir, reason: "cannot list the folder")
    }
  }
}
