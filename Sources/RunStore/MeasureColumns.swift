/// One named measure of phase 2 or 3, declared once: the name of its dataset in analysis.h5 and of its column in
/// `layers.csv`, a short title for tables, its definition (method.md) and its unit.
///
/// Analysis fills the columns; the report, the terminal table, `layers.csv` and the documentation check read them
/// from here. A new measure is one declaration here and one entry in Analysis's measure tables.
public struct MeasureColumn: Sendable, Hashable {
    /// How a per-filter column is stored in analysis.h5.
    public enum Storage: Sendable, Hashable {
        /// int32 [filter].
        case integer
        /// float64 [filter] (or [layer] in `/summary`, which is always float64).
        case real
    }

    /// Dataset and CSV column name, e.g. "mean_noise".
    public let name: String
    /// Short title for tables, e.g. "noise".
    public let title: String
    /// What it is, in one sentence (the report shows it as the column's help).
    public let definition: String
    /// Unit, e.g. "ones" (elements of the binary matrix), "labels", "share of filters", "1" for a ratio.
    public let unit: String
    /// How it is stored (per-filter columns; per-layer columns are float64).
    public let storage: Storage

    public init(_ name: String, title: String, unit: String, storage: Storage = .real, _ definition: String) {
        self.name = name
        self.title = title
        self.unit = unit
        self.storage = storage
        self.definition = definition
    }
}

/// The per-layer table: `layers.csv` and the report's table; phase 3's columns are also `/summary/<name>` in
/// analysis.h5 (float64 [layer]), phase 2's are read from the probes (probe.h5), not copied into analysis.h5.
public enum LayerColumns {
    public static let probeFinalSR = MeasureColumn("sr_probe_final", title: "SR(l)", unit: "SR",
        "test SR of the layer's phase 2 head after its last epoch")
    public static let probeBestSR = MeasureColumn("sr_probe_best", title: "best SR(l)", unit: "SR",
        "best epoch's test SR of the phase 2 head (selected on the test set)")
    public static let filters = MeasureColumn("filters", title: "filters", unit: "filters",
        "filters (channels) of the layer")
    public static let silentFraction = MeasureColumn("silent_fraction", title: "silent", unit: "share of filters",
        "share of filters whose matrix has no positive element (no clusters, counted apart)")
    public static let noClusterFraction = MeasureColumn("no_cluster_fraction", title: "no cluster", unit: "share of filters",
        "share of filters that are not silent and have no cluster")
    public static let clustersPerFilter = MeasureColumn("clusters_per_filter", title: "clusters/filter", unit: "clusters",
        "mean number of clusters per filter, over the filters with a cluster")
    public static let meanClusterSize = MeasureColumn("mean_cluster_size", title: "cluster size", unit: "labels",
        "mean labels per cluster, over all clusters of the layer")
    public static let meanSignal = MeasureColumn("mean_signal", title: "signal", unit: "ones",
        "mean ones inside the cluster squares per filter, over the filters with a cluster")
    public static let meanNoise = MeasureColumn("mean_noise", title: "noise", unit: "ones",
        "mean ones outside the cluster squares per filter (noise_f), over the filters with a cluster")
    public static let snr = MeasureColumn("snr", title: "SNR", unit: "1",
        "mean signal / mean noise (+inf when the noise is 0, NaN when no filter has a cluster)")
    public static let snrI = MeasureColumn("snr_i", title: "SNR-i", unit: "1",
        "mean over the filters with a cluster of (sum of cluster sizes) / max(noise, 1)")
    public static let meanNoiseCluster = MeasureColumn("mean_noise_cluster", title: "noise_cluster", unit: "ones",
        "mean noise_cluster per filter ([L]: ones in the cluster labels' columns outside the cluster squares), over the filters with a cluster")
    public static let snrCluster = MeasureColumn("snr_cluster", title: "SNR_cluster", unit: "1",
        "mean signal / mean noise_cluster, over the filters with a cluster (+inf when that noise is 0)")
    public static let meanNoiseWithZeros = MeasureColumn("mean_noise_with_zeros", title: "noise w/ zeros", unit: "ones",
        "mean noise_f over all filters, those with no cluster (silent ones included) counted as 0 ([L]'s noise_filter_with_zeros)")
    public static let snrWithZeros = MeasureColumn("snr_with_zeros", title: "SNR w/ zeros", unit: "1",
        "mean signal / mean noise over all filters, no-cluster filters counted as 0 in both (equals snr: both means gain the same factor)")
    public static let dominantBrightRows = MeasureColumn("dominant_bright_rows", title: "bright rows", unit: "labels",
        "mean input labels bright in the dominant output column, over the non-silent filters")
    public static let majorityBrightColumns = MeasureColumn("majority_bright_columns", title: "bright columns", unit: "labels",
        "mean output columns bright for more than half the input labels, over the non-silent filters")
    public static let dominantOnesRatio = MeasureColumn("dominant_ones_ratio", title: "dominant ratio", unit: "1",
        "mean of (ones in the dominant column / all other ones) over the non-silent filters where it is finite")
    public static let pooledDominantOnesRatio = MeasureColumn("pooled_dominant_ones_ratio", title: "pooled ratio", unit: "1",
        "all dominant-column ones / all other ones of the layer's non-silent filters")

    /// The phase 2 columns (from the probes, `ProbeSource`).
    public static let probe = [probeFinalSR, probeBestSR]
    /// The phase 3 columns, in table order; the threshold sweep (`/sweep/<name>`) holds each of them.
    public static let phaseThree = [
        filters, silentFraction, noClusterFraction, clustersPerFilter, meanClusterSize, meanSignal, meanNoise, snr, snrI,
        meanNoiseCluster, snrCluster, meanNoiseWithZeros, snrWithZeros, dominantBrightRows, majorityBrightColumns, dominantOnesRatio, pooledDominantOnesRatio,
    ]
    /// Every per-layer column, in table order.
    public static let all = probe + phaseThree

    /// The column named `name`, nil when FilterLens declares none.
    public static func named(_ name: String) -> MeasureColumn? { all.first { $0.name == name } }
}

/// The per-filter columns: `/layers/layerNN/<name>` in analysis.h5, [filter].
public enum FilterColumns {
    public static let clusterCount = MeasureColumn("cluster_count", title: "clusters", unit: "clusters", storage: .integer,
        "number of clusters of the filter")
    public static let signal = MeasureColumn("signal", title: "signal", unit: "ones", storage: .integer,
        "sum over the filter's clusters of size^2: the ones inside the cluster squares")
    public static let noise = MeasureColumn("noise", title: "noise", unit: "ones", storage: .integer,
        "ones of the binary matrix outside the cluster squares (noise_f)")
    public static let noiseCluster = MeasureColumn("noise_cluster", title: "noise_cluster", unit: "ones", storage: .integer,
        "ones in the columns of the filter's cluster labels once the cluster squares are zeroed ([L]; 0 with no cluster)")
    public static let noiseWithZeros = MeasureColumn("noise_with_zeros", title: "noise w/ zeros", unit: "ones", storage: .integer,
        "noise_f, or 0 for a filter with no cluster ([L]'s noise_filter_with_zeros)")
    public static let silent = MeasureColumn("silent", title: "silent", unit: "0 or 1", storage: .integer,
        "1 when the largest element of the filter's matrix is not positive")
    public static let dominantLabel = MeasureColumn("dominant_label", title: "dominant label", unit: "label index", storage: .integer,
        "the output column with the largest mean of the raw matrix (-1 for a silent filter)")
    public static let dominantBrightRows = MeasureColumn("dominant_bright_rows", title: "bright rows", unit: "labels", storage: .integer,
        "input labels bright in the dominant column")
    public static let majorityBrightColumns = MeasureColumn("majority_bright_columns", title: "bright columns", unit: "labels", storage: .integer,
        "output columns bright for more than half of the input labels")
    public static let dominantOnesRatio = MeasureColumn("dominant_ones_ratio", title: "dominant ratio", unit: "1", storage: .real,
        "ones in the dominant column / all other ones (+inf when only the denominator is 0, NaN when there are no ones)")

    /// Every per-filter column, in the order they are written.
    public static let all = [
        clusterCount, signal, noise, noiseCluster, noiseWithZeros, silent, dominantLabel, dominantBrightRows, majorityBrightColumns, dominantOnesRatio,
    ]
}
