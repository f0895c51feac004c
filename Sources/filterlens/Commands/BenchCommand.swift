import ArgumentParser
import BLAS
import Engine
import Foundation

/// `filterlens bench`: engine throughput on random data.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and inference images/s and GFLOP/s of the engine (median after warm-up).",
        discussion: "Compare with PyTorch on the same machine: python3 scripts/bench_pytorch.py runs both side by side.")

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

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard notation != nil || Preset.named(preset) != nil else {
            throw ValidationError("unknown preset \"\(preset)\"; choose one of \(Preset.all.map(\.name).joined(separator: ", "))")
        }
        guard batch >= 1, iterations >= 1, warmup >= 0 else { throw ValidationError("--batch and --iterations must be >= 1") }
    }

    func run() throws {
        try reportingFailures {
            let architecture = try Architecture(notation: notation ?? Preset.named(preset)!.notation)
            let result = EngineBenchmark.run(architecture: architecture, batch: batch, warmup: warmup, iterations: iterations)
            let fields: [(String, String)] = [
                ("engine", "\"filterlens\""), ("preset", "\"\(notation == nil ? preset : "custom")\""),
                ("notation", "\"\(architecture.notation)\""), ("batch", "\(batch)"),
                ("openblas_core", "\"\(BLAS.coreName)\""), ("openblas_threads", "\(BLAS.threadCount)"),
                ("train_images_per_second", String(format: "%.1f", result.trainImagesPerSecond)),
                ("train_gflops", String(format: "%.1f", result.trainGFLOPs)),
                ("inference_images_per_second", String(format: "%.1f", result.inferenceImagesPerSecond)),
                ("inference_gflops", String(format: "%.1f", result.inferenceGFLOPs)),
                ("train_step_seconds_median", String(format: "%.4f", EngineBenchmark.median(result.trainSeconds))),
                ("iterations", "\(iterations)"),
            ]
            if json {
                say("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
            } else {
                for (name, value) in fields { say("\(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(value)") }
            }
        }
    }
}
