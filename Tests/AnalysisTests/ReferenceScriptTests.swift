import Analysis
import Foundation
import RunStore
import Testing

/// Runs scripts/analysis_reference.py (NumPy, written independently from method.md) and compares its numbers.
@Suite("Swift analysis against the NumPy reference script")
struct ReferenceScriptTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = repositoryRoot.appendingPathComponent("scripts/analysis_reference.py")

    /// Whether `python3 -c "import numpy"` succeeds.
    static let numpyAvailable: Bool = (try? runPython(["-c", "import numpy"])) != nil

    /// Runs python3 with `arguments`; throws with its output when it exits with a non-zero status.
    @discardableResult
    static func runPython(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScriptFailure(message: "python3 \(arguments.joined(separator: " ")): \(output)")
        }
        return output
    }

    struct ScriptFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// A number from the script's JSON, where non-finite values are the strings "Infinity", "-Infinity", "NaN".
    static func number(_ value: Any?) -> Double {
        if let text = value as? String {
            switch text {
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: return .nan
            }
        }
        return (value as? NSNumber)?.doubleValue ?? .nan
    }

    static func numbers(_ value: Any?) -> [Double] { ((value as? [Any]) ?? []).map { number($0) } }
    static func matrix(_ value: Any?) -> [Double] { ((value as? [Any]) ?? []).flatMap { numbers($0) } }

    @Test("10 labels, 16 filters, 4x4, 200 images with ReLU-like activations and silent filters",
          .enabled(if: numpyAvailable, "python3 with numpy is not available: the cross-check is skipped"),
          arguments: Normalization.allCases)
    func matchesReference(normalization: Normalization) throws {
        let (labels, channels, height, width, images) = (10, 16, 4, 4, 200)
        let plane = height * width
        var random = SeededValues(seed: 2024)
        var weights = random.values(labels * channels * plane)
        // Filters 0..2: all weights negative, so every field is <= 0 (silent under max normalization).
        for j in 0..<labels {
            for f in 0..<3 {
                for p in 0..<plane { weights[(j * channels + f) * plane + p] = -abs(weights[(j * channels + f) * plane + p]) }
            }
        }
        var activations = random.values(images * channels * plane).map { max($0, 0) }  // about half are zeros
        // Filter 3 never fires: silent under both normalizations.
        for k in 0..<images {
            for p in 0..<plane { activations[(k * channels + 3) * plane + p] = 0 }
        }
        let trueLabels = random.labels(images, labelCount: labels)
        let parameters = AnalysisParameters(threshold: 0.3, normalization: normalization)

        let accumulator = FieldAccumulator(weights: weights, labelCount: labels, channels: channels,
                                           height: height, width: width)
        for start in stride(from: 0, to: images, by: 64) {
            let end = min(start + 64, images)
            accumulator.add(activations: Array(activations[start * channels * plane..<end * channels * plane]),
                            labels: Array(trueLabels[start..<end]))
        }
        let layer = LayerAnalysis(rawMatrices: accumulator.rawMatrices(), parameters: parameters)

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("filterlens-analysis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let header: [String: Any] = [
            "labels": labels, "channels": channels, "height": height, "width": width, "images": images,
            "threshold": parameters.threshold, "normalization": normalization.rawValue,
        ]
        try JSONSerialization.data(withJSONObject: header).write(to: directory.appendingPathComponent("header.json"))
        try weights.withUnsafeBytes { Data($0) }.write(to: directory.appendingPathComponent("W.f32"))
        try activations.withUnsafeBytes { Data($0) }.write(to: directory.appendingPathComponent("A.f32"))
        try trueLabels.withUnsafeBytes { Data($0) }.write(to: directory.appendingPathComponent("y.i32"))
        let outputURL = directory.appendingPathComponent("out.json")
        try Self.runPython([Self.script.path, "--raw", directory.path, "--out", outputURL.path])

        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: outputURL)) as? [String: Any])
        let reference = try #require(document["filters"] as? [[String: Any]])
        #expect(reference.count == channels)
        let silentCount = layer.filters.filter(\.isSilent).count
        #expect(silentCount >= (normalization == .max ? 4 : 1), "the case must contain silent filters")
        #expect(layer.filters.contains { $0.clusterCount > 0 })

        for (f, (filter, expected)) in zip(layer.filters, reference).enumerated() {
            let raw = Self.matrix(expected["raw"])
            let scale = raw.map(abs).max() ?? 0
            #expect(zip(filter.raw.values, raw).allSatisfy { isClose($0, $1, scale: scale) }, "raw, filter \(f)")
            #expect(zip(filter.normalized.values, Self.matrix(expected["normalized"])).allSatisfy {
                isClose($0, $1, scale: 1)
            }, "normalized, filter \(f)")
            #expect(filter.binary.values.map(Double.init) == Self.matrix(expected["binary"]), "binary, filter \(f)")
            #expect(filter.clusterAssignment.map(Double.init) == Self.numbers(expected["assignment"]), "filter \(f)")
            #expect(filter.isSilent == (expected["silent"] as? Bool), "silent, filter \(f)")
            let integers: [(String, Int)] = [
                ("cluster_count", filter.clusterCount), ("signal", filter.signal), ("noise", filter.noise),
                ("dominant_label", filter.dominantLabel), ("dominant_bright_rows", filter.dominantBrightRows),
                ("majority_bright_columns", filter.majorityBrightColumns),
                ("noise_cluster", Int(filter.value(FilterColumns.noiseCluster))),
                ("noise_with_zeros", Int(filter.value(FilterColumns.noiseWithZeros))),
            ]
            for (key, value) in integers { #expect(Double(value) == Self.number(expected[key]), "\(key), filter \(f)") }
            #expect(isClose(filter.dominantOnesRatio, Self.number(expected["dominant_ones_ratio"])), "filter \(f)")
        }

        let summary = layer.summary
        let expected = try #require(document["summary"] as? [String: Any])
        let values: [(String, Double)] = [
            ("filter_count", Double(summary.filterCount)), ("silent_count", Double(summary.silentCount)),
            ("no_cluster_count", Double(summary.noClusterCount)), ("clustered_count", Double(summary.clusteredCount)),
            ("silent_fraction", summary.silentFraction), ("no_cluster_fraction", summary.noClusterFraction),
            ("mean_clusters_per_filter", summary.meanClustersPerFilter), ("mean_cluster_size", summary.meanClusterSize),
            ("mean_signal", summary.meanSignal), ("mean_noise", summary.meanNoise), ("snr", summary.snr),
            ("snr_i", summary.snrI), ("mean_dominant_bright_rows", summary.meanDominantBrightRows),
            ("mean_majority_bright_columns", summary.meanMajorityBrightColumns),
            ("mean_dominant_ones_ratio", summary.meanDominantOnesRatio),
            ("infinite_dominant_ones_ratio_count", Double(summary.infiniteDominantOnesRatioCount)),
            ("pooled_dominant_ones_ratio", summary.pooledDominantOnesRatio),
            ("mean_noise_cluster", summary.value(LayerColumns.meanNoiseCluster)),
            ("snr_cluster", summary.value(LayerColumns.snrCluster)),
            ("mean_noise_with_zeros", summary.value(LayerColumns.meanNoiseWithZeros)),
            ("snr_with_zeros", summary.value(LayerColumns.snrWithZeros)),
        ]
        for (key, value) in values { #expect(isClose(value, Self.number(expected[key])), "summary \(key)") }
        #expect(summary.clusterSizeHistogram.map(Double.init) == Self.numbers(expected["cluster_size_histogram"]))
        #expect(zip(summary.dominantLabelShare, Self.numbers(expected["dominant_label_share"])).allSatisfy {
            isClose($0, $1, scale: 1)
        })
    }
}
