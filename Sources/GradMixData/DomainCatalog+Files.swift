import Foundation

extension DomainCatalog {
  // MARK: - Files

  /// The data files the named domains read: every regular file in the
  /// folder of each one's raw dataset (both splits), plus `photos/` when a
  /// chain blends photos. Sorted paths under ``dataRoot``; unknown names and
  /// missing folders are skipped (the build reports those). A dataset on disk
  /// adds its `.npz` or IDX files; image folders add none here (their
  /// listing is fingerprinted instead, ``folderListings(for:)``).
  public func files(for names: [String]) -> [String] {
    var folders = Set<String>()
    var extra = Set<String>()
    for name in names {
      guard let chain = chains[name] else { continue }
      switch chain.base {
      case .raw(let raw): folders.insert(raw.rawValue)
      case .disk(let d):
        for p in [d.format == .npz ? d.path : nil, d.images, d.labels, d.testImages, d.testLabels].compactMap({ $0 })
        where Self.isRegularFile(p) { extra.insert(p) }
      }
      if chain.steps.contains(where: { $0.transform?.needsPhotos ?? false }) { folders.insert("photos") }
    }
    let fm = FileManager.default
    var paths: [String] = []
    for folder in folders.sorted() {
      let dir = dataRoot + "/" + folder
      guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
      for n in names.sorted() where Self.isRegularFile(dir + "/" + n) { paths.append(dir + "/" + n) }
    }
    return paths + extra.sorted()
  }

  /// Whether `path` is a regular file (following links), by stat(2) alone:
  /// a FIFO, device or socket is never opened (opening a FIFO blocks until a
  /// writer comes, issue #28); the loader reports such a file when it reads it.
  static func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
  }

  /// The image folders the named domains read, each with
  /// ``DiskDataset/listingDigest()``: folder path (with a trailing `/`) →
  /// `listing-sha256:<hex> (<count> files)`. Unreadable folders are skipped
  /// (the build reports those).
  public func folderListings(for names: [String]) -> [String: String] {
    var out: [String: String] = [:]
    for name in names {
      guard let chain = chains[name], case .disk(let d) = chain.base, let root = d.path,
        let digest = d.listingDigest()
      else { continue }
      out[root + "/"] = digest
    }
    return out
  }
}
