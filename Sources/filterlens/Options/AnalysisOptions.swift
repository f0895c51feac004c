import Analysis
import ArgumentParser
import Foundation
import Pipeline
import RunStore

/// Options of phase 3 (shared by `analyze`, `run` and `sweep-labels`).
struct AnalysisOptions: ParsableArguments {
    @Option(help: "Threshold th of the binary matrix: an element is bright when the normalized value exceeds it.")
    var threshold = 0.3

    @Option(help: "Normalization of the filter-label matrix: max ([L]) or column-centred (subtract column means first).")
    var normalization = "max"

    @Option(help: "Further thresholds, comma-separated, whose per-layer table is stored beside the main one.")
    var sweep = "0.2,0.3,0.5,0.7"

    @Option(name: .customLong("top-images"),
            help: "Test images kept per filter: those with the largest spatially averaged block output (the report's filter panels show them).")
    var topImages = TopImageRecord.defaultCount

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must lie in (0, 1), got \(threshold)") }
        guard Normalization(rawValue: normalization) != nil else {
            throw ValidationError("--normalization must be one of \(Normalization.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try sweepThresholds()
        guard topImages > 0 && topImages <= 1000 else { throw ValidationError("--top-images must lie in 1...1000, got \(topImages)") }
    }

    func sweepThresholds() throws -> [Double] {
        try sweep.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0, value < 1 else {
                throw ValidationError("--sweep: \"\($0)\" is not a threshold in (0, 1)")
            }
            return value
        }
    }

    var parameters: AnalysisParameters {
        AnalysisParameters(threshold: threshold, normalization: Normalization(rawValue: normalization)!)
    }

    /// Phase 3's configuration for the run in `directory`.
    func request(directory: URL, resume: Bool, keepsMatchingAnalysis: Bool = false) throws -> AnalysisRequest {
        AnalysisRequest(directory: RunDirectory(directory), parameters: parameters, sweepThresholds: try sweepThresholds(),
                        resume: resume, keepsMatchingAnalysis: keepsMatchingAnalysis, topImages: topImages)
    }
}
