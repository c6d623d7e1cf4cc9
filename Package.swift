// swift-tools-version:6.0
//
// GradMix: distributed multi-source transfer training (Li et al., WACV 2020)
// on a small OpenBLAS-backed engine, with MPI for multi-rank runs.

import PackageDescription

let package = Package(
  name: "GradMix",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "gradmix", targets: ["gradmix"]),
    .executable(name: "gradmix-mpi-selftest", targets: ["gradmix-mpi-selftest"]),
    .library(name: "GradMixEngine", targets: ["GradMixEngine"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // MARK: System libraries

    .systemLibrary(
      name: "COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    .systemLibrary(
      name: "CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "CPNG",
      pkgConfig: "libpng",
      providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CTurboJPEG",
      pkgConfig: "libturbojpeg",
      providers: [.apt(["libturbojpeg0-dev"])]),

    // MARK: Kernels

    // The step's statistics loops with AVX, chosen at run time (Sources/CKernels/NormAndDot.c).
    .target(name: "CKernels"),

    // MARK: Library

    // The run records (metrics lines, summary.json, run.json): written by Core, read by Reports and the tests.
    .target(name: "GradMixRecords"),
    .target(
      name: "GradMixEngine",
      dependencies: ["COpenBLAS", "CZlib", "CKernels"],
      swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
    .target(
      name: "GradMixData",
      dependencies: ["GradMixEngine", "CZlib", "CPNG", "CTurboJPEG", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "GradMixDistributed",
      dependencies: ["CMPI"]),
    .target(
      name: "GradMixCore",
      dependencies: [
        "GradMixEngine", "GradMixData", "GradMixDistributed", "GradMixRecords", .product(name: "Yams", package: "Yams"),
      ],
      plugins: ["BuildInfoPlugin"]),
    .target(
      name: "GradMixBenchmarks",
      dependencies: ["GradMixEngine", "GradMixDistributed", "GradMixCore"]),
    .target(
      name: "GradMixReports",
      dependencies: ["GradMixRecords", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "GradMixTestSupport",
      dependencies: ["GradMixEngine"]),

    // MARK: Build tools

    .plugin(name: "BuildInfoPlugin", capability: .buildTool()),

    // MARK: Tool

    .executableTarget(
      name: "gradmix",
      dependencies: [
        "GradMixEngine",
        "GradMixData",
        "GradMixDistributed",
        "GradMixCore",
        "GradMixBenchmarks",
        "GradMixReports",
        "GradMixRecords",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .executableTarget(
      name: "gradmix-mpi-selftest",
      dependencies: ["GradMixDistributed", "GradMixEngine"]),

    // MARK: Tests

    .testTarget(
      name: "GradMixEngineTests",
      dependencies: ["GradMixEngine", "GradMixTestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "GradMixDataTests",
      dependencies: ["GradMixData", "GradMixEngine", "GradMixTestSupport", "CZlib"]),
    .testTarget(
      name: "GradMixCoreTests",
      dependencies: [
        "GradMixCore", "GradMixEngine", "GradMixData", "GradMixDistributed", "GradMixRecords", "GradMixTestSupport",
      ]),
    .testTarget(
      name: "GradMixDistributedTests",
      dependencies: ["GradMixDistributed"]),
    .testTarget(
      name: "GradMixReportsTests",
      dependencies: ["GradMixReports", "GradMixRecords", "GradMixTestSupport"]),
    .testTarget(
      name: "GradMixCLITests",
      dependencies: ["GradMixEngine", "GradMixData", "GradMixRecords", "GradMixTestSupport"]),
  ]
)
