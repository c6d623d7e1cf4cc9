import Foundation
import GradMixEngine

extension DiskDataset {
  // MARK: - Load

  /// The folder names of the train and test parts of an image folder.
  var folders: (train: String, test: String) { (splitFolders["train"] ?? "train", splitFolders["test"] ?? "test") }

  /// Loads one split. Images from an image folder come out at `shape`
  /// (`[C, H, W]`); npz and idx images at their stored size (the domain
  /// catalog fits them); feature vectors must match `shape` (`[D]`).
  ///
  /// - Parameters:
  ///   - split: which part; if the dataset has no test part, both come from
  ///     the fixed 80/20 partition of the train part.
  ///   - shape: `model.input`.
  /// - Throws: the readers' ``DataError``s, and ``DataError/shapeMismatch(what:data:model:)``
  ///   before reading anything large when the data cannot feed `shape`.
  public func load(split: Split, shape: [Int]) throws -> ImageSet {
    switch format {
    case .imagefolder:
      let (root, train, test, classes) = try imageFolderLayout(shape: shape)
      func part(_ folder: String) throws -> ImageSet {
        try ImageFolder.load(
          root: root, split: folder, classes: classes, channels: shape[0], height: shape[1], width: shape[2],
          cacheDirectory: cacheDirectory)
      }
      if ImageFolder.isDirectory(root + "/" + test) { return try part(split == .train ? train : test) }
      return RawDataset.fixedPartition(try part(train), split: split)
    case .npz:
      let file = path ?? ""
      if let set = try NPZDataset.load(path: file, part: split.rawValue, arrays: arrays, layout: layout, shape: shape) {
        return set
      }
      guard let all = try NPZDataset.load(path: file, part: "train", arrays: arrays, layout: layout, shape: shape)
      else {
        preconditionFailure("NPZDataset.load throws rather than return nil for the train part.")
      }
      return RawDataset.fixedPartition(all, split: split)
    case .idx:
      guard shape.count == 3 else {
        throw DataError.shapeMismatch(what: images ?? "idx", data: "images (an IDX file)", model: shape)
      }
      if let ti = testImages, let tl = testLabels {
        let (i, l) = split == .train ? (images ?? "", labels ?? "") : (ti, tl)
        return try RawDataset.read(imagesPath: i, labelsPath: l, classCount: 256)
      }
      let all = try RawDataset.read(imagesPath: images ?? "", labelsPath: labels ?? "", classCount: 256)
      return RawDataset.fixedPartition(all, split: split)
    }
  }

  /// A fingerprint of an image folder for the run's provenance:
  /// `listing-sha256:<hex> (<count> files)`, the SHA-256 of the sorted lines
  /// `<path relative to the folder>\t<size>\t<mtime in ns>` of every image
  /// file of both split folders. Nil for other formats or an unreadable
  /// folder. Choice: the listing, not the bytes: hashing thousands of images
  /// at every start would cost more than the run's data load, and a changed
  /// image changes its size or mtime (the same rule as the decoded cache).
  public func listingDigest() -> String? {
    guard format == .imagefolder, let root = path else { return nil }
    let (train, test) = folders
    guard let classes = try? ImageFolder.classNames(root: root, splitFolders: [train, test]) else { return nil }
    var lines: [String] = []
    for split in [train, test] where ImageFolder.isDirectory(root + "/" + split) {
      guard let entries = try? ImageFolder.entries(root: root, split: split, classes: classes) else { continue }
      for e in entries { lines.append("\(e.path.dropFirst(root.count + 1))\t\(e.size)\t\(e.mtime)") }
    }
    lines.sort()
    return "listing-sha256:\(SHA256.hex(Array(lines.joined(separator: "\n").utf8))) (\(lines.count) files)"
  }

  /// The class names: an image folder's sorted class folders; nil for other formats.
  public func classNames() throws -> [String]? {
    guard format == .imagefolder else { return nil }
    let (train, test) = folders
    return try ImageFolder.classNames(root: path ?? "", splitFolders: [train, test])
  }
}

extension DiskDataset {
  /// An image folder's root, train and test folder names and class names,
  /// after checking that `shape` is [C, H, W].
  ///
  /// - Throws: ``ImageFolder/classNames(root:splitFolders:)``'s errors and
  ///   ``DataError/shapeMismatch(what:data:model:)``.
  func imageFolderLayout(shape: [Int]) throws -> (root: String, train: String, test: String, classes: [String]) {
    let root = path ?? ""
    let (train, test) = folders
    let classes = try ImageFolder.classNames(root: root, splitFolders: [train, test])
    guard shape.count == 3 else {
      throw DataError.shapeMismatch(what: root, data: "images (an image folder)", model: shape)
    }
    return (root, train, test, classes)
  }
}
