import Analysis
import ArgumentParser
import Foundation
import Pipeline
import RunStore

/// `filterlens bench-labels`: `analyze` and `report` on synthetic VGG-16-shaped field-sum runs at many labels.
struct BenchLabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-labels",
        abstract: "Time analyze and report on a synthetic VGG-16-shaped field-sum run at 100, 1,000, ... labels.",
        discussion: """
            For each --labels, writes a run dissected elsewhere (run.h5, probe.h5, fields.h5: LabelScaleRun, \
            documented in docs/performance.md) with VGG-16's 13 convolutional layers (4,224 filters) or the --layers \
            given, then runs phase 3 (threshold 0.3, max normalization, the default sweep) and the report on it in \
            this process, and prints wall time, peak resident memory (VmHWM, reset before each step) and file sizes. \
            fields.h5 and analysis.h5 each take about 8 L^2 F bytes (34 GB for all of VGG-16 at 1,000 labels): \
            mind the disk. The runs are removed at the end unless --keep.
            """)

    @Option(help: "Label counts, comma-separated.")
    var labels = NumberList<Int>([100])

    @Option(help: "Layers of VGG-16 to write and analyse, comma-separated (default: all 13).")
    var layers: NumberList<Int>?

    @Option(help: "Folder to write the runs into (one subfolder per label count).")
    var out: String

    @Option(help: "Test images per label (the counts of fields.h5).")
    var imagesPerLabel = 10

    @Flag(help: "Keep the runs (fields.h5, analysis.h5, figures/) instead of removing them.")
    var keep = false

    func validate() throws {
        guard labels.values.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--labels: label counts must be >= 2") }
        guard (layers?.values ?? [1]).allSatisfy({ (1...LabelScaleRun.vgg16Channels.count).contains($0) }) else {
            throw ValidationError("--layers: VGG-16's layers are 1 to \(LabelScaleRun.vgg16Channels.count)")
        }
        guard imagesPerLabel >= 1 else { throw ValidationError("--images-per-label must be >= 1") }
    }

    func run() throws {
        try reportingFailures {
            let chosen = layers?.values ?? Array(1...LabelScaleRun.vgg16Channels.count)
            let filters = chosen.reduce(0) { $0 + LabelScaleRun.vgg16Channels[$1 - 1] }
            var rows: [String] = ["| labels | layers | filters | write run | analyze | analyze peak RSS | analysis.h5 | raw matrices (float64) | report | report peak RSS | figures/ |",
                                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for count in labels.values {
                let directory = URL(fileURLWithPath: out).appendingPathComponent("vgg16-\(count)-labels")
                try? FileManager.default.removeItem(at: directory)
                var started = Date()
                try LabelScaleRun.write(directory: directory, labels: count, channels: LabelScaleRun.vgg16Channels, layers: chosen,
                                        imagesPerLabel: imagesPerLabel)
                let write = Date().timeIntervalSince(started)
                PeakMemory.reset()
                started = Date()
                try Pipeline.analyze(AnalysisRequest(directory: RunDirectory(directory), parameters: AnalysisParameters(),
                                                     sweepThresholds: [0.2, 0.3, 0.5, 0.7], resume: false), .console())
                let analyze = Date().timeIntervalSince(started)
                let analyzeMemory = PeakMemory.bytes()
                PeakMemory.reset()
                started = Date()
                _ = try ReportWiring.run(directory: directory)
                let report = Date().timeIntervalSince(started)
                let reportMemory = PeakMemory.bytes()
                let analysisBytes = fileSize(directory.appendingPathComponent(RunLayout.analysisFile))
                let figures = directorySize(directory.appendingPathComponent("figures"))
                let raw = Int64(filters) * Int64(count) * Int64(count) * 8
                rows.append("| \(count) | \(layers?.text ?? "1-13") | \(filters) | \(seconds(write)) | \(seconds(analyze)) | \(megabytes(analyzeMemory)) | \(megabytes(analysisBytes)) | \(megabytes(raw)) | \(seconds(report)) | \(megabytes(reportMemory)) | \(megabytes(figures)) |")
                print(rows.joined(separator: "\n"))
                if !keep { try? FileManager.default.removeItem(at: directory) }
            }
        }
    }

    private func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
    private func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
    private func fileSize(_ url: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.int64Value ?? 0
    }
    private func directorySize(_ url: URL) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.reduce(0) { $0 + fileSize(url.appendingPathComponent($1)) }
    }
}

/// This process's peak resident memory (Linux: VmHWM of /proc/self/status, reset by writing 5 to /proc/self/clear_refs).
enum PeakMemory {
    static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func bytes() -> Int64 {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int64(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kilobytes * 1024
    }
}
