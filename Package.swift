// swift-tools-version:6.0
// The package graph is the architecture: front ends → Mapper → (Accelerator, Reference) → HDLKit.
// Only the two command-line front ends may depend on swift-argument-parser.
import PackageDescription

let package = Package(
    name: "DSCAccelerator",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "HDLKit", targets: ["HDLKit"]),
        .library(name: "Reference", targets: ["Reference"]),
        .library(name: "Accelerator", targets: ["Accelerator"]),
        .library(name: "Mapper", targets: ["Mapper"]),
        .executable(name: "elaborate", targets: ["elaborate"]),
        .executable(name: "dsc", targets: ["dsc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "HDLKit"),
        .target(name: "Reference"),
        .target(name: "Accelerator", dependencies: ["HDLKit", "Reference"]),
        .target(name: "Mapper", dependencies: ["Accelerator", "Reference"]),
        .executableTarget(name: "elaborate", dependencies: [
            "Accelerator", "HDLKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "dsc", dependencies: [
            "Mapper", "Reference", "Accelerator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "HDLKitTests", dependencies: ["HDLKit"]),
        .testTarget(name: "ReferenceTests", dependencies: ["Reference"]),
        .testTarget(name: "AcceleratorTests", dependencies: ["Accelerator", "HDLKit", "Reference"]),
        .testTarget(name: "MapperTests", dependencies: ["Mapper", "Accelerator", "Reference"]),
    ]
)
