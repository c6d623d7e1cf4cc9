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
    .library(name: "GradMixEngine", targets: ["GradMixEngine"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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

    // MARK: Library

    .target(
      name: "GradMixEngine",
      dependencies: ["COpenBLAS", "CZlib"],
      swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
    .target(
      name: "GradMixDistributed",
      dependencies: ["CMPI"]),
    .target(
      name: "GradMixTestSupport",
      dependencies: ["GradMixEngine"]),

    // MARK: Tool

    .executableTarget(
      name: "gradmix",
      dependencies: [
        "GradMixEngine",
        "GradMixDistributed",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // MARK: Tests

    .testTarget(
      name: "GradMixEngineTests",
      dependencies: ["GradMixEngine", "GradMixTestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "GradMixDistributedTests",
      dependencies: ["GradMixDistributed"]),
    .testTarget(
      name: "GradMixCLITests",
      dependencies: ["GradMixEngine", "GradMixTestSupport"]),
  ]
)
