import Foundation

extension DomainCatalog {
  // MARK: - Files

  /// The data files the named domains read: every regular file in the
  /// folder of each one's raw dataset (both splits), plus `photos/` when a
  /// chain blends photos. Sorted paths under ``dataRoot``; unknown names and
  /// missing folders are skipped (the build reports those).
  public func files(for names: [String]) -> [String] {
    var folders = Set<String>()
    for name in names {
      guard let chain = chains[name] else { continue }
      folders.insert(chain.base.rawValue)
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
    return paths
  }
}
