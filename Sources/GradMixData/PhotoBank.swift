import GradMixEngine

/// The colour photos that `blend-photo` crops its backgrounds from.
///
/// Read from `<dataRoot>/photos/MANIFEST.tsv` (header `name, file, width,
/// height, licence, sha256`, tab-separated) and one IDX file `[H, W, 3]` per
/// photo. Each photo is checked against the size the manifest states.
struct PhotoBank {
  struct Photo {
    let name: String
    let height: Int
    let width: Int
    let rgb: [UInt8]  // [H, W, 3]
  }

  let manifest: String
  let photos: [Photo]

  /// Loads every photo listed in `<root>/photos/MANIFEST.tsv`.
  ///
  /// - Throws: the file errors of ``IDX``, ``DataError/badCSV(path:line:detail:)`` for
  ///   a malformed manifest line and ``DataError/dimensionMismatch(path:detail:)`` for a
  ///   photo whose array is not `[height, width, 3]` as listed.
  init(root: String) throws {
    let dir = root + "/photos"
    manifest = dir + "/MANIFEST.tsv"
    let text = String(decoding: try FileBytes.readRaw(manifest), as: UTF8.self)
    var photos = [Photo]()
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      if i == 0 {
        guard fields.prefix(4) == ["name", "file", "width", "height"] else {
          throw DataError.badCSV(
            path: manifest, line: 1, detail: "expected the header 'name, file, width, height, ...'")
        }
        continue
      }
      if line.isEmpty { continue }
      guard fields.count >= 4, let w = Int(fields[2]), let h = Int(fields[3]), w > 0, h > 0 else {
        throw DataError.badCSV(
          path: manifest, line: i + 1, detail: "expected name, file, width, height (positive integers)")
      }
      guard !fields[1].isEmpty, !fields[1].contains("/"), fields[1] != ".." else {
        throw DataError.badCSV(path: manifest, line: i + 1, detail: "the file '\(fields[1])' must be a plain file name")
      }
      let path = dir + "/" + fields[1]
      let (dims, bytes) = try IDX.read(path)
      guard dims == [h, w, 3] else {
        throw DataError.dimensionMismatch(
          path: path, detail: "expected [\(h), \(w), 3] as \(manifest) says, found \(dims)")
      }
      photos.append(Photo(name: fields[0], height: h, width: w, rgb: bytes))
    }
    guard !photos.isEmpty else { throw DataError.badCSV(path: manifest, line: 1, detail: "lists no photos") }
    self.photos = photos
  }

  /// A random `h`x`w` RGB crop of a random photo (among those large enough).
  ///
  /// - Throws: ``DataError/dimensionMismatch(path:detail:)`` if no photo is that large.
  func crop(height h: Int, width w: Int, rng: inout RNG) throws -> [UInt8] {
    let fits = photos.indices.filter { photos[$0].height >= h && photos[$0].width >= w }
    guard !fits.isEmpty else {
      throw DataError.dimensionMismatch(path: manifest, detail: "no photo is at least \(h)x\(w) for blend-photo")
    }
    let p = photos[fits[rng.int(below: fits.count)]]
    let y0 = rng.int(below: p.height - h + 1), x0 = rng.int(below: p.width - w + 1)
    var out = [UInt8](repeating: 0, count: h * w * 3)
    for y in 0..<h {
      let src = ((y0 + y) * p.width + x0) * 3
      for j in 0..<(w * 3) { out[y * w * 3 + j] = p.rgb[src + j] }
    }
    return out
  }
}
