import Foundation

/// A dataset on disk that a domain can start from, written in a config as
/// the domain's `base` mapping.
///
///     domains:
///       shapes:   {base: {format: imagefolder, path: shapes}}      # shapes/train/<class>/*.png|jpg
///       feats:    {base: {format: npz, path: feats.npz}}          # x_train, y_train, x_test, y_test
///       letters:  {base: {format: idx, images: l-images-idx3-ubyte, labels: l-labels-idx1-ubyte}}
///
/// Relative paths resolve against the config file's folder. Each format has a
/// train and a test part (`train`/`test` folders, `x_test`/`y_test` arrays,
/// `test_images`/`test_labels` files); a dataset with only the train part is
/// partitioned 80/20 by the fixed rule of ``RawDataset/fixedPartition(_:split:)``.
/// Loading is in `DiskDataset+Load.swift`.
public struct DiskDataset: Codable, Equatable, Sendable {
  public enum Format: String, Codable, Sendable, CaseIterable {
    case imagefolder, npz, idx
  }

  public var format: Format
  /// imagefolder: the folder holding the split folders; npz: the archive.
  public var path: String?
  /// idx: the training images and labels, and optionally the test pair.
  public var images: String?
  public var labels: String?
  public var testImages: String?
  public var testLabels: String?
  /// npz: array names for `x_train`, `y_train`, `x_test`, `y_test` (default: those names).
  public var arrays: [String: String] = [:]
  /// npz: `nhwc` or `nchw` for 4-D image arrays (default: inferred, see ``NPZDataset``).
  public var layout: String?
  /// imagefolder: the folder name of each split (default: `train`, `test`).
  public var splitFolders: [String: String] = [:]
  /// imagefolder: where decoded arrays are cached (`off`: not cached; nil:
  /// `$GRADMIX_CACHE` or the user's cache folder, see ``DecodedCache``).
  /// Choice: a per-dataset override so tests running in parallel need not
  /// share the process environment.
  public var cacheDirectory: String?

  public init(format: Format, path: String? = nil) {
    self.format = format
    self.path = path
  }

  /// The keys a `base:` mapping may have for each format.
  static let keys: [Format: Set<String>] = [
    .imagefolder: ["format", "path", "train", "test"],
    .npz: ["format", "path", "x_train", "y_train", "x_test", "y_test", "layout"],
    .idx: ["format", "images", "labels", "test_images", "test_labels"],
  ]

  /// A short description for logs and errors, e.g. `imagefolder /data/shapes`.
  public var summary: String {
    switch format {
    case .imagefolder, .npz: return "\(format.rawValue) \(path ?? "?")"
    case .idx: return "idx \(images ?? "?")"
    }
  }

  /// Checks the keys each format needs.
  ///
  /// - Parameter field: the config path of the mapping (e.g. `domains.shapes.base`).
  /// - Throws: ``DataError/badConfig(field:detail:)``.
  func validate(field: String) throws {
    switch format {
    case .imagefolder, .npz:
      guard let p = path, !p.isEmpty else {
        throw DataError.badConfig(field: "\(field).path", detail: "is required for format \(format.rawValue)")
      }
    case .idx:
      guard images != nil, labels != nil else {
        throw DataError.badConfig(field: field, detail: "format idx needs 'images' and 'labels'")
      }
      guard (testImages == nil) == (testLabels == nil) else {
        throw DataError.badConfig(field: field, detail: "give both 'test_images' and 'test_labels' or neither")
      }
    }
    if let l = layout, !["nhwc", "nchw"].contains(l) {
      throw DataError.badConfig(field: "\(field).layout", detail: "must be nhwc or nchw, got '\(l)'")
    }
  }
}
