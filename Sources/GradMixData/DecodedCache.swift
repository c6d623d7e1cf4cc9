import Foundation

/// A cache of decoded image sets on disk, so an unchanged image folder loads
/// from one file instead of thousands of decodes.
///
/// Where: the caller's directory if given (``DiskDataset/cacheDirectory``),
/// else `$GRADMIX_CACHE` if set (`off` disables the cache), else
/// `$XDG_CACHE_HOME/gradmix`, else `~/.cache/gradmix`; one file per (folder,
/// split), named by a hash of the folder's absolute path. Layout: the magic
/// `GMXCACH1`, the key, then N, C, H, W (all little-endian UInt64), N int32
/// labels, and N*H*W*C pixels. Choice: the key is a 64-bit FNV-1a hash of
/// every file's path, size and mtime (nanoseconds) plus the shape, so editing,
/// adding, removing or touching any file rebuilds the cache; a damaged or
/// foreign cache file is ignored and rewritten, never trusted.
struct DecodedCache {
  static let magic = Array("GMXCACH1".utf8)
  let path: String

  /// The cache file for `name` in `directory` (nil: from the environment), or
  /// nil when the cache is off.
  init?(name: String, directory: String? = nil) {
    let env = ProcessInfo.processInfo.environment
    let dir: String
    if let d = directory, !d.isEmpty {
      if d == "off" { return nil }
      dir = d
    } else if let c = env["GRADMIX_CACHE"], !c.isEmpty {
      if c == "off" { return nil }
      dir = c
    } else if let x = env["XDG_CACHE_HOME"], !x.isEmpty {
      dir = x + "/gradmix"
    } else {
      dir = NSHomeDirectory() + "/.cache/gradmix"
    }
    let absolute = URL(fileURLWithPath: name).standardizedFileURL.path
    path = dir + "/" + String(format: "%016llx", DecodedCache.fnv(Array(absolute.utf8))) + ".bin"
  }

  /// The key of a listing: every file's path, size and mtime, and the output shape.
  static func key(files: [ImageFolder.Entry], shape: [Int]) -> UInt64 {
    var h = fnv(Array("v1 \(shape)".utf8))
    for f in files {
      h = fnv(Array("\(f.path)\u{0}\(f.size)\u{0}\(f.mtime)\u{0}\(f.label)\n".utf8), seed: h)
    }
    return h
  }

  /// 64-bit FNV-1a.
  static func fnv(_ bytes: [UInt8], seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var h = seed
    for b in bytes {
      h ^= UInt64(b)
      h = h &* 0x0000_0100_0000_01B3
    }
    return h
  }

  /// The cached set, if the file exists, is sound and has this key, count and shape.
  func read(key: UInt64, count: Int, shape: [Int]) -> ImageSet? {
    // The size is checked before anything is read: a damaged or grown file (10 GB, issue #28) is rebuilt unread.
    var st = stat()
    guard shape.count == 3, let sample = DataMemory.product(shape),
      let expected = DataMemory.product([count, 4 + sample]),
      stat(path, &st) == 0, Int(st.st_size) == 48 + expected
    else { return nil }
    guard let b = try? FileBytes.readRaw(path), b.count >= 48, Array(b[0..<8]) == DecodedCache.magic else { return nil }
    func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
    guard u64(8) == key, u64(16) == UInt64(count), u64(24) == UInt64(shape[0]), u64(32) == UInt64(shape[1]),
      u64(40) == UInt64(shape[2])
    else { return nil }
    let size = shape[0] * shape[1] * shape[2]
    guard b.count == 48 + count * 4 + count * size else { return nil }
    var labels = [Int32](repeating: 0, count: count)
    for i in 0..<count {
      let o = 48 + 4 * i
      labels[i] = Int32(
        bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)
    }
    return ImageSet(
      height: shape[1], width: shape[2], channels: shape[0], pixels: Array(b[(48 + count * 4)...]),
      labels: labels)
  }

  /// Writes the set atomically; a failure only costs the next run a decode (warned once on stderr).
  func write(_ set: ImageSet, key: UInt64) {
    var out = DecodedCache.magic
    out.reserveCapacity(48 + set.count * 4 + set.pixels.count)
    for v in [key, UInt64(set.count), UInt64(set.channels), UInt64(set.height), UInt64(set.width)] {
      for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }
    for l in set.labels {
      let u = UInt32(bitPattern: l)
      out += [UInt8(u & 0xff), UInt8(u >> 8 & 0xff), UInt8(u >> 16 & 0xff), UInt8(u >> 24)]
    }
    out += set.pixels
    do {
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      // Written from the buffer itself: `Data(out)` was one more copy of every pixel (issue #28).
      try out.withUnsafeMutableBytes { raw in
        try writeAtomically(Data(bytesNoCopy: raw.baseAddress!, count: raw.count, deallocator: .none), to: path)
      }
    } catch {
      FileHandle.standardError.write(Data("warning: cannot write the decoded-image cache \(path): \(error)\n".utf8))
    }
  }
}
