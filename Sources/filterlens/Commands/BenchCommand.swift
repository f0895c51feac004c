import Analysis
import ArgumentParser
import BLAS
import Engine
import Foundation
import RunStore
import Training

/// `filterlens bench`: engine throughput on random data, time per layer, data assembly and analysis throughput.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and inference images/s and GFLOP/s of the engine (median after warm-up).",
        discussion: """
            GFLOP/s count the multiply-adds of direct 3x3 convolutions, whatever the algorithm: with Winograd \
            layers they are effective rates and can exceed the sgemm ceiling. \
            Inference is timed right after each training step (fresh weights) and again with the weights left \
            unchanged between passes (frozen_inference: Winograd layers reuse their kernels' transforms, as in phases \
            2 and 3). Also prints the GFLOP/s of one 2048 x 2048 OpenBLAS sgemm (the machine's ceiling; the training GFLOP/s \
            as a share of it), per training step each convolution block's, FC layer's and the loss's forward and backward \
            time and share of the step; the time to assemble one augmented batch; and the phase 3 analysis \
            throughput per conv layer on synthetic activations of that layer's shape. \
            Compare with PyTorch on the same machine: python3 scripts/bench_pytorch.py runs both side by side.
            """)

    @Option(help: "Preset whose architecture is timed.")
    var preset = "vgg6"

    @Option(name: .customLong("arch"), help: "Architecture in VGG notation instead of the preset's.")
    var notation: String?

    @Option(help: "Images per batch.")
    var batch = 128

    @Option(help: "Untimed iterations first.")
    var warmup = 2

    @Option(help: "Timed iterations.")
    var iterations = 5

    @Option(help: "Synthetic images streamed through each layer's analysis per iteration (0: skip the analysis).")
    var analysisImages = 1000

    @Option(name: .customLong("conv-algorithm"),
            help: "Convolution algorithm: auto, measure, im2col, winograd-f2, winograd-f4, or one per conv layer, comma-separated.",
            transform: parseConvolutionPolicy)
    var convolutionPolicy = ConvolutionPolicy.automatic

    @Flag(help: "Also time every convolution algorithm on every conv layer (forward and backward at the batch).")
    var compareAlgorithms = false

    @Option(name: .customLong("tile-buffer-mib"),
            help: "MiB of each of the two Winograd tile buffers (default: the engine's); convolutions run over chunks of as many images as fit.")
    var tileBufferMiB: Double?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard notation != nil || Preset.named(preset) != nil else {
            throw ValidationError("unknown preset \"\(preset)\"; choose one of \(Preset.all.map(\.name).joined(separator: ", "))")
        }
        guard batch >= 1, iterations >= 1, warmup >= 0 else { throw ValidationError("--batch and --iterations must be >= 1") }
        guard analysisImages >= 0 else { throw ValidationError("--analysis-images must be >= 0") }
        guard tileBufferMiB.map({ $0.isFinite && $0 > 0 }) ?? true else { throw ValidationError("--tile-buffer-mib must be > 0") }
    }

    func run() throws {
        try reportingFailures {
            warnOfForcedOpenBLASCore()
            let architecture = try Architecture(notation: notation ?? Preset.named(preset)!.notation)
            let algorithms = try convolutionPolicy.algorithms(for: architecture, batch: batch)
            let result = EngineBenchmark.run(architecture: architecture, batch: batch, warmup: warmup, iterations: iterations,
                                             algorithms: algorithms,
                                             tileBudget: tileBufferMiB.map { Int($0 * 1_048_576 / 4) } ?? Network.defaultTileBudget)
            let comparison = compareAlgorithms
                ? ConvolutionTimer.measure(architecture: architecture, batch: batch, iterations: iterations) : []
            let sgemm = EngineBenchmark.sgemmGFLOPs()
            let shapes = (1...architecture.convolutionCount).map {
                let shape = architecture.blockOutputShape(layer: $0)
                return BlockShape(channels: shape.channels, height: shape.height, width: shape.width)
            }
            let analysis = analysisImages == 0 ? nil
                : AnalysisBenchmark.run(shapes: shapes, labelCount: architecture.labelCount, images: analysisImages,
                                        warmup: min(warmup, 1), iterations: iterations)
            printReport(architecture: architecture, result: result, comparison: comparison, sgemm: sgemm, analysis: analysis)
        }
    }
}
