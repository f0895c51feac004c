/// How a filter-label matrix is normalized before thresholding (method.md, phase 3).
public enum Normalization: String, Sendable, CaseIterable, Codable {
    /// [L]: divide by the largest element; the filter is silent when that element is <= 0.
    case max
    /// [F]: subtract from each output column its mean over the input labels, then divide by the largest element;
    /// the filter is silent when the largest centred element is <= 0 (every column constant).
    case columnCentred = "column-centred"
}

/// The recorded parameters of phase 3 for one layer.
public struct AnalysisParameters: Sendable, Equatable, Codable {
    /// An element of the normalized matrix is bright (1 in the binary matrix) when it is strictly greater than this.
    public var threshold: Double
    /// How the raw filter-label matrix is normalized.
    public var normalization: Normalization

    /// The SNR definition this module computes, recorded beside the numbers ([F], method.md).
    public static let snrDefinition = "mean signal / mean noise over the filters with at least one cluster"

    /// Parameters with method.md's defaults: threshold 0.3, max normalization.
    public init(threshold: Double = 0.3, normalization: Normalization = .max) {
        self.threshold = threshold
        self.normalization = normalization
    }
}
