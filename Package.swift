// swift-tools-version:6.0
// FilterLens: train a CNN, dissect it filter by filter, and report (see README.md).
import PackageDescription

let package = Package(
    name: "FilterLens",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "filterlens", targets: ["filterlens"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // C libraries, seen through pkg-config (Debian: libcairo2-dev, libhdf5-dev, libopenblas-dev, libdeflate-dev).
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // libdeflate (Debian: libdeflate-dev): fast whole-buffer inflate of activations.h5's gzip chunks.
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        // Swift wrappers: the only modules that import the C modules.
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "Cairo", dependencies: ["CCairo"]),
        .target(name: "BLAS", dependencies: ["COpenBLAS"]),
        .target(name: "Deflate", dependencies: ["CDeflate"]),

        // Data and numerics; the one temporary-file scheme of every file written.
        .target(name: "Tensor"),
        .target(name: "Files"),
        .target(name: "CIFAR", dependencies: ["Files"]),

        // The public HDF5 layout of run and analysis files (docs/hdf5-layout.md).
        .target(name: "RunStore", dependencies: ["HDF5", "Deflate", "Files"]),

        // The CNN engine: layers, network, parameters, SGD, linear heads (BLAS and Tensor only).
        .target(name: "Engine", dependencies: ["BLAS", "Tensor"]),

        // Phases 1 and 2 over the engine: training and probe loops, batches, presets, run export, benchmarks.
        .target(name: "Training", dependencies: ["Engine", "BLAS", "Tensor", "CIFAR", "RunStore"]),

        // Phase 3: reads only HDF5 files; never imports the engine.
        .target(name: "Analysis", dependencies: ["RunStore", "BLAS", "Tensor"]),

        // The three phases, one way: run folder, checkpointing epoch loop, completion and invalidation rules.
        .target(name: "Pipeline", dependencies: ["Engine", "Training", "Analysis", "Pruning", "RunStore", "CIFAR", "Files", "Tensor"]),

        // Cluster-based pruning (AFCC, [L2]) and its random control: masks from phase 3's clusters, masked retraining.
        .target(name: "Pruning", dependencies: ["Engine", "Training", "RunStore", "Tensor", "CIFAR"]),

        // Figures: a plotting model that knows nothing of HDF5 or Cairo, and its Cairo backend.
        .target(name: "Plot"),
        .target(name: "PlotCairo", dependencies: ["Plot", "Cairo", "Files"]),

        // The HTML report of a run, from templates/.
        .target(name: "Report", dependencies: [
            "Plot", "PlotCairo", "RunStore",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),

        // The command line: wires the parts together.
        .executableTarget(name: "filterlens", dependencies: [
            "HDF5", "Cairo", "BLAS", "CIFAR", "Files", "RunStore", "Engine", "Training", "Analysis", "Pipeline", "Plot", "PlotCairo", "Report",
            "Pruning",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate"]),
        // Helpers shared by test targets (scratch folders, PNG and PDF checks, fuzz trial counts).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CairoTests", dependencies: ["Cairo", "TestSupport"]),
        .testTarget(name: "BLASTests", dependencies: ["BLAS"]),
        .testTarget(name: "CIFARTests", dependencies: ["CIFAR", "TestSupport"]),
        .testTarget(name: "RunStoreTests", dependencies: ["RunStore", "HDF5", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Tensor", "BLAS", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Engine", "Tensor", "CIFAR"]),
        .testTarget(name: "FilesTests", dependencies: ["Files"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Training", "Analysis", "RunStore"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "RunStore", "HDF5"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot", "PlotCairo", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Plot", "RunStore"]),
        .testTarget(name: "PruningTests", dependencies: ["Pruning", "Training", "Engine", "RunStore", "HDF5", "Tensor", "CIFAR", "Report", "Plot"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["HDF5", "CIFAR", "RunStore", "Pipeline", "Analysis", "Training", "Pruning", "Report", "TestSupport"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
