import ArgumentParser
import Foundation
import GradMixData
import GradMixEngine

/// `gradmix data ...`: look at raw files and domains.
struct DataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "data",
    abstract: "Inspect data files and domains.",
    subcommands: [Inspect.self, Grid.self, Synthesize.self])

  /// Options shared by the subcommands that build domains.
  struct DomainOptions: ParsableArguments {
    @Option(help: "Which split of a domain: train or test.")
    var split = "train"

    @Option(
      help: "Seed of the domain's random transforms (default: as train: --config's data_seed, else its seed, else 1).")
    var seed: UInt64?

    @Option(help: "Raw data folder (default: as train: $GRADMIX_DATA, else --config's data_root, else data/raw).")
    var dataRoot: String?

    /// The data seed `gradmix train` would use with this config.
    var dataSeed: UInt64 {
      if let seed { return seed }
      guard let config, let data = try? readConfig(config) else { return 1 }
      return DomainCatalog.parseRunDefaults(yaml: String(decoding: data, as: UTF8.self)).dataSeed
    }

    /// The data root `gradmix train` would use with this config.
    var resolvedDataRoot: String {
      if let dataRoot { return dataRoot }
      if let env = ProcessInfo.processInfo.environment["GRADMIX_DATA"], !env.isEmpty { return env }
      if let config, let data = try? readConfig(config),
        let root = DomainCatalog.parseRunDefaults(yaml: String(decoding: data, as: UTF8.self)).dataRoot
      {
        return root
      }
      return "data/raw"
    }

    @Option(help: "A YAML config whose `domains:` defines more domains.")
    var config: String?

    @Option(help: "Images per class in the grid picture.")
    var perClass = 8

    @Option(help: "Pixel scale of the grid picture.")
    var scale = 2

    @Option(help: "Sample shape C,H,W (C 1 or 3) or D (default: --config's model.input, else 3,28,28).")
    var input: String?

    func validate() throws {
      guard Split(rawValue: split) != nil else {
        throw ValidationError("--split must be train or test, got '\(split)'")
      }
      guard perClass > 0 else { throw ValidationError("--per-class must be positive, got \(perClass)") }
      guard (1...16).contains(scale) else { throw ValidationError("--scale must be in 1...16, got \(scale)") }
    }

    /// The domain catalog with the config's domains, building samples of `--input` or the config's `model.input`.
    func catalog() throws -> DomainCatalog {
      var custom = [String: DomainSpec]()
      var shape = DomainCatalog.defaultSampleShape
      if let config {
        let text = String(decoding: try readConfig(config), as: UTF8.self)
        custom = try withFile(config) { try DomainCatalog.parseDomains(yaml: text, file: config) }
        if let s = try withFile(config, { try DomainCatalog.parseSampleShape(yaml: text, file: config) }) { shape = s }
      }
      if let input {
        let dims = input.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ $0 != nil }) else {
          throw DataError.badConfig(field: "--input", detail: "must be C,H,W or D, got '\(input)'")
        }
        shape = dims.compactMap { $0 }
      }
      let c = config
      return try withFile(c) {
        try DomainCatalog(dataRoot: resolvedDataRoot, custom: custom, sampleShape: shape)
      }
    }

    /// Builds a domain, returning the set and the seconds it took.
    func build(_ name: String, in catalog: DomainCatalog) throws -> (ImageSet, Double) {
      let start = Date()
      let set = try catalog.build(name, split: Split(rawValue: split) ?? .train, seed: dataSeed)
      return (set, Date().timeIntervalSince(start))
    }
  }

  /// Prints `error: <description>` on stderr and exits with status 2.
  static func fail(_ error: DataError) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    return ExitCode(2)
  }

  // MARK: - inspect

  /// `gradmix data inspect PATH|DOMAIN`: counts, shape, classes and pixel statistics.
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print counts, shape, class histogram and pixel statistics of a file or domain.",
      discussion: """
        PATH is an IDX images file (its labels are read from the file with the standard \
        -labels-idx1- name next to it, if there is one) or a digits CSV (pixels then label). \
        DOMAIN is a predefined domain (mnist, uci, syndigits, mnist-m, fashion) or one from \
        --config (image folders, .npz and IDX files included), built at --input or the config's \
        model.input; it prints the class names of an image folder. On bad input it prints \
        `error: <file or field>: <fault>` and exits with 2.
        """)

    @Argument(help: "An IDX or CSV file, or a domain name.")
    var target: String

    @OptionGroup var options: DomainOptions

    @Option(help: "Write a PNG of a few samples per class to this file.")
    var grid: String?

    @Option(help: "Classes of a labels file read from PATH.")
    var classCount = 10

    func validate() throws {
      guard (1...256).contains(classCount) else {
        throw ValidationError("--class-count must be in 1...256, got \(classCount)")
      }
    }

    func run() throws {
      do {
        let set: ImageSet
        var notes = [String]()
        var classes = classCount
        var names: [String]?
        if Inspect.isPath(target) {
          (set, notes) = try Inspect.load(path: target, classCount: classCount)
        } else {
          let catalog = try options.catalog()
          let (built, seconds) = try options.build(target, in: catalog)
          set = built
          names = try catalog.classNames(of: target)
          classes = max(names?.count ?? 0, Int(set.labels.max() ?? 0) + 1, 1)
          notes.append(
            "domain \(target), \(options.split) split, seed \(options.dataSeed), built in \(String(format: "%.2f", seconds)) s"
          )
        }
        for n in notes { print(n) }
        Inspect.printSummary(set, classCount: classes, names: names)
        if let grid {
          guard !set.isFeatures else {
            throw DataError.badConfig(
              field: "--grid", detail: "\(target) holds feature vectors \(set.sampleShape), not images")
          }
          let g = gridImage(set, perClass: options.perClass, classCount: classes, scale: options.scale)
          try PNG.write(grid, width: g.width, height: g.height, rgb: g.rgb)
          print("grid:      \(grid) (\(g.width)x\(g.height))")
        }
      } catch let e as DataError {
        throw DataCommand.fail(e)
      }
    }

    /// A target is a path if it exists or looks like one; otherwise a domain name.
    static func isPath(_ s: String) -> Bool {
      FileManager.default.fileExists(atPath: s) || s.contains("/") || s.hasSuffix(".csv") || s.hasSuffix(".gz")
        || s.hasSuffix("-ubyte")
    }

    /// Reads an IDX images file (with its labels if found) or a digits CSV.
    static func load(path: String, classCount: Int) throws -> (ImageSet, [String]) {
      if path.hasSuffix(".csv") || path.hasSuffix(".csv.gz") {
        let (side, maxValue) = try DigitsCSV.sniff(path)
        return (
          try DigitsCSV.read(path, side: side, maxValue: maxValue), ["file:      \(path) (CSV, values 0-\(maxValue))"]
        )
      }
      let img = try IDX.readImages(path)
      let name = (path as NSString).lastPathComponent
      let labelName = name.replacingOccurrences(of: "-images-", with: "-labels-")
        .replacingOccurrences(of: "idx3", with: "idx1").replacingOccurrences(of: "idx4", with: "idx1")
      let dir = (path as NSString).deletingLastPathComponent
      let labelPath = (dir.isEmpty ? "" : dir + "/") + labelName
      if labelName != name && FileManager.default.fileExists(atPath: labelPath) {
        let set = try RawDataset.read(imagesPath: path, labelsPath: labelPath, classCount: classCount)
        return (set, ["file:      \(path)", "labels:    \(labelPath)"])
      }
      if img.channels == 1 && img.width == 3 {  // [H, W, 3]: one colour photo (as in photos/), not H images of Wx3
        let photo = ImageSet(height: img.count, width: img.height, channels: 3, pixels: img.pixels, labels: [0])
        return (photo, ["file:      \(path) (one [H, W, 3] RGB image)", "labels:    none"])
      }
      let set = ImageSet(
        height: img.height, width: img.width, channels: img.channels, pixels: img.pixels,
        labels: [Int32](repeating: 0, count: img.count))
      return (set, ["file:      \(path)", "labels:    none found (all shown as class 0)"])
    }

    static func printSummary(_ set: ImageSet, classCount: Int, names: [String]? = nil) {
      print("count:     \(set.count)")
      if set.isFeatures {
        print("shape:     [D] = \(set.sampleShape) (float32 feature vectors)")
      } else {
        print("shape:     [C, H, W] = \(set.sampleShape) (stored HWC)")
      }
      print("memory:    " + String(format: "%.1f MiB", Double(set.memoryBytes) / 1_048_576))
      let counts = set.classCounts(classCount: classCount)
      print("classes:   \(classCount): " + counts.enumerated().map { "\($0)=\($1)" }.joined(separator: " "))
      if let names { print("names:     " + names.enumerated().map { "\($0)=\($1)" }.joined(separator: " ")) }
      guard set.count > 0 else {
        print("pixels:    none (the file holds 0 images)")
        return
      }
      if set.isFeatures {
        let values = set.features
        let mean = values.reduce(0, +) / Float(max(values.count, 1))
        print(String(format: "values:    mean %.4f min %.4f max %.4f", mean, values.min() ?? 0, values.max() ?? 0))
        return
      }
      let s = set.channelStatistics()
      for c in 0..<set.channels where c < s.min.count && c < s.max.count {
        print(
          String(
            format: "channel %d: mean %.2f std %.2f min %d max %d", c, s.mean[c], s.std[c], Int(s.min[c]), Int(s.max[c])
          ))
      }
    }
  }

  // MARK: - grid

  /// `gradmix data grid DOMAIN... --output FILE`: one picture of several domains.
  struct Grid: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one PNG with a block of samples per class for each domain, numbered in order.")

    @Argument(help: "Domain names, drawn top to bottom.")
    var domains: [String]

    @OptionGroup var options: DomainOptions

    @Option(help: "The PNG file to write.")
    var output: String

    func validate() throws {
      guard !domains.isEmpty else { throw ValidationError("name at least one domain") }
    }

    func run() throws {
      do {
        let catalog = try options.catalog()
        var sets = [ImageSet]()
        for d in domains {
          let (set, seconds) = try options.build(d, in: catalog)
          print("\(sets.count + 1). \(d): \(set.count) images, built in \(String(format: "%.2f", seconds)) s")
          sets.append(set)
        }
        let g = gridImage(
          stacking: sets, perClass: options.perClass, classCount: RawDataset.classCount, scale: options.scale)
        try PNG.write(output, width: g.width, height: g.height, rgb: g.rgb)
        print("grid: \(output) (\(g.width)x\(g.height))")
      } catch let e as DataError {
        throw DataCommand.fail(e)
      }
    }
  }
}

/// Reads a config file, reporting failures as ``DataError``.
private func readConfig(_ path: String) throws -> [UInt8] {
  guard let data = FileManager.default.contents(atPath: path) else {
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) { throw DataError.fileNotFound(path: path) }
    if isDir.boolValue { throw DataError.notAFile(path: path) }
    throw DataError.unreadable(path: path, reason: "permission denied or I/O error")
  }
  return [UInt8](data)
}

/// Prefixes config-field errors with the config file, so the message names both.
private func withFile<T>(_ file: String?, _ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch DataError.badConfig(let field, let detail) where file != nil {
    throw DataError.badConfig(field: "\(file ?? ""): \(field)", detail: detail)
  }
}
