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
        where FileManager.default.fileExists(atPath: p) { extra.insert(p) }
      }
      if chain.steps.contains(where: { $0.transform?.needsPhotos ?? false }) { folders.insert("photos") }
    }
    let fm = FileManager.default
    var paths: [String] = []
    for folder in folders.sorted() {
      let dir = dataRoot + "/" + folder
      guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
      for n in names.sorted() {
        var isDir: ObjCBool = false
        let p = dir + "/" + n
        if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { paths.append(p) }
      }
    }
    return paths + extra.sorted()
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
