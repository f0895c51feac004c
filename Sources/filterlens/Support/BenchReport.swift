import Analysis
import BLAS
import Engine
import Foundation
import Training

/// What `filterlens bench` prints: one JSON object with --json, else the fields and the per-layer tables.
extension BenchCommand {
    func printReport(architecture: Architecture, result: EngineBenchmark, comparison: [ConvolutionTimer.LayerTimes],
                     sgemm: Double, analysis: AnalysisBenchmark?) {
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
            ("frozen_inference_images_per_second", number(result.frozenInferenceImagesPerSecond, "%.1f")),
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
                        ("share", number(layer.shareOfStep, "%.4f")),
                        ("inference_ms", number(layer.inferenceSeconds * 1000, "%.3f")),
                        ("inference_share", number(layer.shareOfInference, "%.4f"))])
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
                            ("matrices_ms", number(layer.matricesMedianSeconds * 1000, "%.2f")),
                            ("top_images_ms", number(layer.topImagesMedianSeconds * 1000, "%.2f"))])
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

    /// The per-stage table: median forward and backward ms per training step and share of the step, then the median
    /// ms of the same stage in an inference pass and its share of that pass.
    private func printLayerTable(_ result: EngineBenchmark) {
        say("")
        say("time per training step by layer (median of \(iterations) steps, batch \(batch)):")
        say(row("stage", "kind", "forward ms", "backward ms", "total ms", "share", "inference ms", "share"))
        var convolutions = result.algorithms.makeIterator()
        for layer in result.layerTimes {
            let kind = layer.kind == .convolutionBlock ? convolutions.next()!.rawValue : layer.kind.rawValue
            say(row(layer.name, kind, number(layer.forwardSeconds * 1000, "%.2f"),
                    number(layer.backwardSeconds * 1000, "%.2f"),
                    number((layer.forwardSeconds + layer.backwardSeconds) * 1000, "%.2f"),
                    number(100 * layer.shareOfStep, "%.2f%%"), number(layer.inferenceSeconds * 1000, "%.2f"),
                    number(100 * layer.shareOfInference, "%.2f%%")))
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
        say(row("layer", "C x H x W", "images/s", "GFLOP/s", "matrices ms", "top-k ms"))
        for layer in analysis.layers {
            say(row("\(layer.layer)", "\(layer.shape.channels)x\(layer.shape.height)x\(layer.shape.width)",
                    number(layer.imagesPerSecond, "%.0f"), number(layer.gflops, "%.2f"),
                    number(layer.matricesMedianSeconds * 1000, "%.2f"), number(layer.topImagesMedianSeconds * 1000, "%.2f")))
        }
        say(row("all", "", number(analysis.imagesPerSecond, "%.0f"), number(analysis.gflops, "%.2f"), "", ""))
    }

    /// A text table row: a left-aligned name and kind, then right-aligned columns.
    private func row(_ name: String, _ kind: String, _ columns: String...) -> String {
        name.padding(toLength: 8, withPad: " ", startingAt: 0) + kind.padding(toLength: 14, withPad: " ", startingAt: 0)
            + columns.map { String(repeating: " ", count: max(0, 13 - $0.count)) + $0 }.joined()
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
