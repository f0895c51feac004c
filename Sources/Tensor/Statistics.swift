/// Order statistics of timings (benchmarks, per-layer algorithm measurements).
public enum Statistics {
    /// Median of `values` (NaN when empty; the mean of the two middle values for an even count).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
