import Analysis
import ArgumentParser
import BLAS
import Engine
import Foundation
import RunStore

/// `filterlens bench`: engine throughput on random data, time per layer, data assembly and analysis throughput.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and inference images/s and GFLOP/s of the engine (median after warm-up).",
        discussion: """
            GFLOP/s count the multiply-adds of direct 3x3 convolutions, whatever the algorithm: with Winograd \
            layers they are effective rates and can exceed the sgemm ceiling. \
            Also prints the GFLOP/s of one 2048 x 2048 OpenBLAS sgemm (the machine's ceiling; the training GFLOP/s \
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
            help: "Convolution algorithm: auto, measure, im2col, winograd-f2, winograd-f4, or one per conv layer, comma-separated.")
    var convolutionAlgorithm = "auto"

    @Flag(help: "Also time every convolution algorithm on every conv layer (forward and backward at the batch).")
    var compareAlgorithms = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard notation != nil || Preset.named(preset) != nil else {
            throw ValidationError("unknown preset \"\(preset)\"; choose one of \(Preset.all.map(\.name).joined(separator: ", "))")
        }
        guard batch >= 1, iterations >= 1, warmup >= 0 else { throw ValidationError("--batch and --iterations must be >= 1") }
        guard analysisImages >= 0 else { throw ValidationError("--analysis-images must be >= 0") }
    }

    func run() throws {
        try reportingFailures {
            let architecture = try Architecture(notation: notation ?? Preset.named(preset)!.notation)
            let algorithms = try ConvolutionPolicy(parsing: convolutionAlgorithm).algorithms(for: architecture, batch: batch)
            let result = EngineBenchmark.run(architecture: architecture, batch: batch, warmup: warmup, iterations: iterations,
                                             algorithms: algorithms)
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
            let fields: [(String, String)] = [
                ("engine", "\"filterlens\""), ("preset", "\"\(notation == nil ? preset : "custom")\""),
                ("notation", "\"\(architecture.notation)\""), ("batch", "\(batch)"),
                ("cpu", "\"\(Provenance.machine())\""), ("cpu_flags", "\"\(Provenance.vectorFlags())\""),
                ("openblas_core", "\"\(BLAS.coreName)\""), ("openblas_threads", "\(BLAS.threadCount)"),
                ("openblas_coretype_env", "\"\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "")\""),
                ("convolution_algorithms", "\"" + result.algorithms.map(\.rawValue).joined(separator: ",") + "\""),
                ("train_images_per_second", number(result.trainImagesPerSecond, "%.1f")),
                ("train_gflops", number(result.trainGFLOPs, "%.1f")),
                ("inference_images_per_second", number(result.inferenceImagesPerSecond, "%.1f")),
                ("inference_gflops", number(result.inferenceGFLOPs, "%.1f")),
                ("sgemm_gflops", number(sgemm, "%.1f")),
                ("train_share_of_sgemm", number(result.trainGFLOPs / sgemm, "%.3f")),
                ("train_step_seconds_median", number(result.trainStepSeconds, "%.4f")),
                ("iterations", "\(iterations)"),
                ("sgd_ms", number(result.optimizerStepSeconds * 1000, "%.2f")),
                ("unattributed_ms", number(result.unattributedSeconds * 1000, "%.2f")),
                ("data_assembly_ms_per_batch", number(result.assemblyBatchSeconds * 1000, "%.2f")),
                ("data_assembly_share", number(result.assemblyShare, "%.4f")),
            ] + (analysis.map { [
                ("analysis_images", "\($0.images)"),
                ("analysis_images_per_second", number($0.imagesPerSecond, "%.1f")),
                ("analysis_gflops", number($0.gflops, "%.2f")),
            ] } ?? [])
            if json {
                let layers = result.layerTimes.map { layer in
                    object([("name", "\"\(layer.name)\""), ("kind", "\"\(layer.kind.rawValue)\""),
                            ("forward_ms", number(layer.forwardSeconds * 1000, "%.3f")),
                            ("backward_ms", number(layer.backwardSeconds * 1000, "%.3f")),
                            ("share", number(layer.shareOfStep, "%.4f"))])
                }
                var all = fields + [("layers", "[" + layers.joined(separator: ", ") + "]")]
                if !comparison.isEmpty {
                    let rows = comparison.map { layer in
                        object([("layer", "\(layer.layer)"), ("channels", "\(layer.channels)"), ("filters", "\(layer.filters)"),
                                ("side", "\(layer.side)"), ("fastest", "\"\(layer.fastest.rawValue)\""),
                                ("milliseconds", object(layer.seconds.map { ($0.algorithm.rawValue,
                                    object([("forward", number($0.forward * 1000, "%.3f")),
                                            ("backward", number($0.backward * 1000, "%.3f"))])) }))])
                    }
                    all.append(("convolution_algorithm_times", "[" + rows.joined(separator: ", ") + "]"))
                }
                if let analysis {
                    let rows = analysis.layers.map { layer in
                        object([("layer", "\(layer.layer)"), ("channels", "\(layer.shape.channels)"),
                                ("height", "\(layer.shape.height)"), ("width", "\(layer.shape.width)"),
                                ("images_per_second", number(layer.imagesPerSecond, "%.1f")),
                                ("gflops", number(layer.gflops, "%.2f")),
                                ("matrices_ms", number(layer.matricesMedianSeconds * 1000, "%.2f"))])
                    }
                    all.append(("analysis_layers", "[" + rows.joined(separator: ", ") + "]"))
                }
                say(object(all))
            } else {
                for (name, value) in fields { say("\(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(value)") }
                printLayerTable(result)
                if !comparison.isEmpty { printAlgorithmTable(comparison) }
                if let analysis { printAnalysisTable(analysis) }
            }
        }
    }

    /// The per-stage table: median forward and backward ms per training step and share of the step.
    private func printLayerTable(_ result: EngineBenchmark) {
        say("")
        say("time per training step by layer (median of \(iterations) steps, batch \(batch)):")
        say(row("stage", "kind", "forward ms", "backward ms", "total ms", "share"))
        var convolutions = result.algorithms.makeIterator()
        for layer in result.layerTimes {
            let kind = layer.kind == .convolutionBlock ? convolutions.next()!.rawValue : layer.kind.rawValue
            say(row(layer.name, kind, number(layer.forwardSeconds * 1000, "%.2f"),
                    number(layer.backwardSeconds * 1000, "%.2f"),
                    number((layer.forwardSeconds + layer.backwardSeconds) * 1000, "%.2f"),
                    number(100 * layer.shareOfStep, "%.2f%%")))
        }
        let step = result.trainStepSeconds
        for (name, kind, seconds) in [("sgd", "update", result.optimizerStepSeconds),
                                      ("other", "unattributed", result.unattributedSeconds), ("step", "median", step)] {
            say(row(name, kind, "", "", number(seconds * 1000, "%.2f"), number(100 * seconds / step, "%.2f%%")))
        }
        say(String(format: "data assembly (augmented, outside the step): %.2f ms per batch, %.2f%% of assembly + step",
                   result.assemblyBatchSeconds * 1000, 100 * result.assemblyShare))
    }

    /// Per conv layer, forward + backward ms under each algorithm that can run it, and the fastest.
    private func printAlgorithmTable(_ layers: [ConvolutionTimer.LayerTimes]) {
        say("")
        say("convolution forward + backward ms by algorithm (median of \(iterations), batch \(batch)):")
        say(row("layer", "C>F @ side", "im2col", "winograd-f2", "winograd-f4", "fastest"))
        for layer in layers {
            let cells = ConvolutionAlgorithm.allCases.map { algorithm in
                layer.seconds.first { $0.algorithm == algorithm }.map { number(($0.forward + $0.backward) * 1000, "%.2f") } ?? "-"
            }
            say(row("conv\(layer.layer)", "\(layer.channels)>\(layer.filters) @ \(layer.side)", cells[0], cells[1], cells[2],
                    layer.fastest.rawValue))
        }
    }

    /// The analysis table: images/s and GFLOP/s per conv layer and over all layers.
    private func printAnalysisTable(_ analysis: AnalysisBenchmark) {
        say("")
        say("analysis throughput (\(analysis.images) synthetic images per layer, reading activations.h5 not included):")
        say(row("layer", "C x H x W", "images/s", "GFLOP/s", "matrices ms"))
        for layer in analysis.layers {
            say(row("\(layer.layer)", "\(layer.shape.channels)x\(layer.shape.height)x\(layer.shape.width)",
                    number(layer.imagesPerSecond, "%.0f"), number(layer.gflops, "%.2f"),
                    number(layer.matricesMedianSeconds * 1000, "%.2f")))
        }
        say(row("all", "", number(analysis.imagesPerSecond, "%.0f"), number(analysis.gflops, "%.2f"), ""))
    }

    /// A text table row: a left-aligned name and kind, then right-aligned columns.
    private func row(_ name: String, _ kind: String, _ columns: String...) -> String {
        name.padding(toLength: 8, withPad: " ", startingAt: 0) + kind.padding(toLength: 14, withPad: " ", startingAt: 0)
            + columns.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }
}

/// `value` formatted with `format`, or `null` when it is not finite (JSON has no NaN or infinity).
private func number(_ value: Double, _ format: String) -> String {
    value.isFinite ? String(format: format, value) : "null"
}

/// A JSON object from fields whose values are already JSON text, on one line.
private func object(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}
