import Foundation
import HDF5

/// Named per-layer or per-filter numbers: (column name, values), in a fixed order.
public typealias NamedColumns = [(name: String, values: [Double])]

/// Per filter of one layer, the k test images with the largest spatially averaged block output, as stored in
/// `analysis.h5` (`/layers/layerNN/top_images`, `top_activations`) and `fields.h5` (`/top_images/layerNN`, ...).
public struct TopImageRecord: Sendable, Equatable {
    /// Images kept per filter when none is asked for (`filterlens analyze --top-images`).
    public static let defaultCount = 16
    /// What the ranking value is, recorded as analysis.h5's `@top_images_definition`.
    public static let definition = "the test images with the largest spatially averaged block output of the filter (mean over height and width of its channel, after batch norm, ReLU and pooling), largest first"
    /// Filters F.
    public var filters: Int
    /// Images per filter k (ranks).
    public var count: Int
    /// F x k test-image indices (0-based, in the order of activations.h5's images), rank 0 the largest; -1 pads a
    /// filter that saw fewer than k images.
    public var indices: [Int64]
    /// F x k spatially averaged block outputs of those images (NaN where the index is -1).
    public var values: [Double]
    /// F x k true labels of those images (run label order, 0-based; -1 where the index is -1).
    public var labels: [Int32]

    public init(filters: Int, count: Int, indices: [Int64], values: [Double], labels: [Int32]) {
        precondition(indices.count == filters * count && values.count == filters * count && labels.count == filters * count,
                     "top images must be filters x k")
        self.filters = filters
        self.count = count
        self.indices = indices
        self.values = values
        self.labels = labels
    }

    /// Filter `filter`'s images, largest first, without padding.
    public func images(filter: Int) -> [(index: Int, value: Double, label: Int)] {
        (0..<count).compactMap { rank in
            let index = indices[filter * count + rank]
            return index >= 0 ? (Int(index), values[filter * count + rank], Int(labels[filter * count + rank])) : nil
        }
    }
}

/// Writes `analysis.h5` (temporary name, renamed by `commit()`).
public final class AnalysisFileWriter {
    private let staged: StagedFile
    private let fix = StagedFile.fix
    private let labelNames: [String]

    /// Starts the file; `attributes` and `numbers` go to the root (threshold, normalization, ...).
    public init(creating url: URL, labelNames: [String], attributes: [(String, String)], numbers: [(String, Double)]) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.analysisFormat, version: RunLayout.analysisVersion)
        self.labelNames = labelNames
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            try root.setAttribute("label_names", labelNames)
            for (name, value) in attributes { try root.setAttribute(name, value) }
            for (name, value) in numbers { try root.setAttribute(name, value) }
        }
    }

    /// Writes `/images_per_label` (int64 [label]): the test images of each true label the analysis ran over, with
    /// the root's `label` coordinate (the label names).
    public func writeImagesPerLabel(_ counts: [Int]) throws(RunStoreError) {
        let root = staged.root
        let names = labelNames.count == counts.count ? labelNames : counts.indices.map(String.init)
        try accessing(fix: fix) { () throws(HDF5Error) in
            let label = try coordinate(root, "label", names)
            try dimensioned(root.write("images_per_label", counts.map(Int64.init), shape: [counts.count]), [label])
        }
    }

    /// Starts `/layers/layerNN` of `filterCount` filters: its coordinates and its F x L x L datasets, filled chunk by
    /// chunk through the returned writer (layout version 3: raw and binary stored, normalized derived).
    public func beginLayer(_ layer: Int, filterCount: Int, attributes: [(String, Double)]) throws(RunStoreError) -> AnalysisLayerWriter {
        let root = staged.root
        let labelNames = self.labelNames
        return try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.group("layers").createGroup(RunLayout.layerName(layer))
            try group.setAttribute("layer", layer)
            for (name, value) in attributes { try group.setAttribute(name, value) }
            return try AnalysisLayerWriter(group: group, filterCount: filterCount, labelNames: labelNames)
        }
    }

    /// Writes the per-layer table under `/summary` (one dataset per column, length = layers) and the per-layer
    /// distributions (layers x labels).
    public func writeSummary(layers: [Int], columns: NamedColumns, clusterSizeHistogram: [[Int32]],
                             dominantLabelShare: [[Double]], attributes: [(String, Double)]) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.createGroup("summary")
            for (name, value) in attributes { try group.setAttribute(name, value) }
            let layer = try coordinate(group, "layer", layers.map(Int32.init))
            for (name, values) in columns {
                try dimensioned(group.write(name, values, shape: [layers.count]), [layer])
            }
            let labels = clusterSizeHistogram.first?.count ?? 0
            let size = try coordinate(group, "cluster_size", (0..<labels).map { Int32($0 + 1) })
            let label = try coordinate(group, "label", labelNames.count == labels ? labelNames : (0..<labels).map(String.init))
            try dimensioned(group.write("cluster_size_histogram", clusterSizeHistogram.flatMap { $0 }, shape: [layers.count, labels]),
                            [layer, size])
            try dimensioned(group.write("dominant_label_share", dominantLabelShare.flatMap { $0 }, shape: [layers.count, labels]),
                            [layer, label])
        }
    }

    /// Writes the threshold sweep under `/sweep`: thresholds (T) and one T x layers dataset per column.
    public func writeSweep(thresholds: [Double], layers: [Int], columns: NamedColumns) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.createGroup("sweep")
            let threshold = try coordinate(group, "threshold", thresholds)
            let layer = try coordinate(group, "layer", layers.map(Int32.init))   // netCDF sees a dimension only in its group or above
            for (name, values) in columns {
                try dimensioned(group.write(name, values, shape: [thresholds.count, layers.count]), [threshold, layer])
            }
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        try staged.commit()
    }
}

/// Writes the one-dimensional coordinate `name` of `group` and makes it the dimension scale `name`
/// (netCDF-4 readers, xarray among them, see a dimension `name` with these values).
func coordinate<T: H5Scalar>(_ group: H5Group, _ name: String, _ values: [T]) throws(HDF5Error) -> H5Dataset {
    let dataset = try group.write(name, values, shape: [values.count])
    try dataset.makeDimensionScale(name)
    return dataset
}

/// A string coordinate (label names), as `coordinate`.
func coordinate(_ group: H5Group, _ name: String, _ values: [String]) throws(HDF5Error) -> H5Dataset {
    let dataset = try group.writeStrings(name, values)
    try dataset.makeDimensionScale(name)
    return dataset
}

/// Attaches `scales` to the dimensions of `dataset` in order, and labels them with the scales' names.
@discardableResult
func dimensioned(_ dataset: H5Dataset, _ scales: [H5Dataset]) throws(HDF5Error) -> H5Dataset {
    for (index, scale) in scales.enumerated() { try dataset.attachDimensionScale(scale, dimension: index) }
    try dataset.setDimensionLabels(scales.map { String($0.name.split(separator: "/").last ?? "") })
    return dataset
}

/// Writes one layer of `analysis.h5` (layout version 3), chunk of filters by chunk: `raw` (float64) and `binary`
/// (uint8) F x L x L, `scale` [F] and `cluster_of_label` F x L as the filters arrive, the per-filter columns at
/// `finish`. The layer's memory is one chunk, whatever F.
public final class AnalysisLayerWriter {
    /// Filters F and labels L.
    public let filterCount: Int, labelCount: Int
    private let group: H5Group
    private let raw: H5Dataset, binary: H5Dataset, scale: H5Dataset, clusterOfLabel: H5Dataset
    private let filter: H5Dataset, label: H5Dataset
    private let fix = StagedFile.fix

    /// The gzip level of `raw`: none. Shuffled and gzipped at level 1, the raw doubles of a 100-label run shrank by
    /// 23% at 10 MB/s on a loaded 2-core machine (7 minutes for 1,000 labels x 512 filters): it does not pay.
    /// `binary` (0/1 bytes) shrinks 40-fold at level 4 in no time.
    public static let rawCompression: Int? = nil

    init(group: H5Group, filterCount: Int, labelNames: [String]) throws(HDF5Error) {
        let (f, l) = (filterCount, labelNames.count)
        self.group = group
        self.filterCount = f
        labelCount = l
        filter = try coordinate(group, "filter", (0..<f).map(Int32.init))
        let input = try coordinate(group, "input_label", labelNames)
        let output = try coordinate(group, "output_label", labelNames)
        label = try coordinate(group, "label", labelNames)
        // One chunk per filter from 64 labels up (a reader of one filter reads one chunk); smaller matrices share
        // chunks of about 512 kB.
        let chunk = [max(1, min(f, 65_536 / max(1, l * l))), l, l]
        raw = try dimensioned(group.createDataset("raw", type: .float64, shape: [f, l, l], chunk: chunk,
                                                  compression: Self.rawCompression), [filter, input, output])
        binary = try dimensioned(group.createDataset("binary", type: .uint8, shape: [f, l, l], chunk: chunk, compression: 4),
                                 [filter, input, output])
        scale = try dimensioned(group.createDataset("scale", type: .float64, shape: [f]), [filter])
        clusterOfLabel = try dimensioned(group.createDataset("cluster_of_label", type: .int32, shape: [f, l]), [filter, label])
    }

    /// Writes filters `filters` (a block of consecutive filters, n of them): raw and binary n x L x L, scale n,
    /// clusterOfLabel n x L, row-major.
    public func write(filters: Range<Int>, raw rawValues: [Double], binary binaryValues: [UInt8], scale scaleValues: [Double],
                      clusterOfLabel clusters: [Int32]) throws(RunStoreError) {
        let (n, l) = (filters.count, labelCount)
        let (raw, binary, scale, clusterOfLabel) = (self.raw, self.binary, self.scale, self.clusterOfLabel)
        try accessing(fix: fix) { () throws(HDF5Error) in
            try rawValues.withUnsafeBufferPointer { values throws(HDF5Error) in
                try raw.write(values, start: [filters.lowerBound, 0, 0], count: [n, l, l])
            }
            try binaryValues.withUnsafeBufferPointer { values throws(HDF5Error) in
                try binary.write(values, start: [filters.lowerBound, 0, 0], count: [n, l, l])
            }
            try scaleValues.withUnsafeBufferPointer { values throws(HDF5Error) in
                try scale.write(values, start: [filters.lowerBound], count: [n])
            }
            try clusters.withUnsafeBufferPointer { values throws(HDF5Error) in
                try clusterOfLabel.write(values, start: [filters.lowerBound, 0], count: [n, l])
            }
        }
    }

    /// Writes the per-filter columns (length F each) and the filters' top images (F x k, with a `rank` coordinate),
    /// when the source held any.
    public func finish(filterIntegers: [(name: String, values: [Int32])], filterReals: NamedColumns,
                       topImages: TopImageRecord? = nil) throws(RunStoreError) {
        let (group, filter, f) = (self.group, self.filter, filterCount)
        try accessing(fix: fix) { () throws(HDF5Error) in
            for (name, values) in filterIntegers { try dimensioned(group.write(name, values, shape: [f]), [filter]) }
            for (name, values) in filterReals { try dimensioned(group.write(name, values, shape: [f]), [filter]) }
            if let top = topImages {
                try top.write(to: group, indices: "top_images", values: "top_activations", labels: "top_labels")
                let rank = try coordinate(group, "rank", (0..<top.count).map(Int32.init))
                for name in ["top_images", "top_activations", "top_labels"] { try dimensioned(group.openDataset(name), [filter, rank]) }
            }
        }
    }
}

/// Reads `analysis.h5`.
public final class AnalysisFileReader {
    /// The file.
    public let path: String
    private let file: H5File
    private let fix = "re-run `filterlens analyze`"

    /// The layout version of the file (`format_version`): 1 and 2 store the normalized matrices, 3 derives them.
    public let formatVersion: Int

    /// Opens and validates `url`.
    public init(_ url: URL) throws(RunStoreError) {
        path = url.path
        file = try openValidated(url.path, format: RunLayout.analysisFormat, versions: RunLayout.analysisReadableVersions,
                                 producer: "filterlens analyze")
        formatVersion = (try? file.root.intAttribute("format_version")) ?? RunLayout.analysisVersion
    }

    /// A root string attribute, nil when absent.
    public func string(_ name: String) -> String? { try? file.root.stringAttribute(name) }
    /// A root numeric attribute, nil when absent.
    public func number(_ name: String) -> Double? { try? file.root.doubleAttribute(name) }
    /// Label names.
    public func labelNames() throws(RunStoreError) -> [String] {
        let root = file.root
        return try accessing(fix: fix) { () throws(HDF5Error) in try root.stringsAttribute("label_names") }
    }

    /// The layers analysed, ascending.
    public func layers() throws(RunStoreError) -> [Int] {
        let layers = try openChecked(try summaryGroup(), "layer", file: path, shape: [nil])
        return try accessing(fix: fix) { () throws(HDF5Error) in try layers.read(as: Int32.self).map(Int.init) }
    }

    private func summaryGroup() throws(RunStoreError) -> H5Group {
        guard file.root.contains("summary"), let group = try? file.root.openGroup("summary") else {
            throw RunStoreError(path: path, object: "/summary", problem: "missing group", fix: fix)
        }
        return group
    }

    /// A `/summary` column (length = layers); nil when the file lacks it.
    public func summaryColumn(_ name: String) throws(RunStoreError) -> [Double]? {
        let group = try summaryGroup()
        guard group.contains(name) else { return nil }
        let count = try layers().count
        let dataset = try openChecked(group, name, file: path, shape: [count])
        return try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
    }

    /// A `/summary` attribute.
    public func summaryAttribute(_ name: String) -> Double? {
        (try? summaryGroup()).flatMap { try? $0.doubleAttribute(name) }
    }

    /// A layers x labels matrix of `/summary` (e.g. "cluster_size_histogram"), as rows.
    public func summaryMatrix(_ name: String) throws(RunStoreError) -> [[Double]] {
        let dataset = try openChecked(try summaryGroup(), name, file: path, shape: [nil, nil])
        let shape = dataset.shape
        let values = try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
        return (0..<shape[0]).map { Array(values[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }

    /// The threshold sweep: thresholds and, per column name, T x layers rows; nil when absent.
    public func sweep(_ name: String) throws(RunStoreError) -> (thresholds: [Double], rows: [[Double]])? {
        guard file.root.contains("sweep/" + name), let group = try? file.root.openGroup("sweep") else { return nil }
        let thresholds = try openChecked(group, "threshold", file: path, shape: [nil])
        let values = try openChecked(group, name, file: path, shape: [thresholds.shape[0], nil])
        let (t, v) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try thresholds.read(as: Double.self), try values.read(as: Double.self))
        }
        let width = values.shape[1]
        return (t, (0..<t.count).map { Array(v[($0 * width)..<(($0 + 1) * width)]) })
    }

    /// The F x L x L matrices `name` ("raw", "normalized", "binary") of `layer`, with F and L; `filters` limits
    /// them to a block of filters (F is then the block's size). Normalized matrices are read where stored (layout
    /// versions 1 and 2) and derived from `raw` and `scale` otherwise (`MatrixNormalization`).
    public func matrices(layer: Int, _ name: String, filters: Range<Int>? = nil) throws(RunStoreError) -> (filters: Int, labels: Int, values: [Double]) {
        let group = try layerGroup(layer)
        let stored = name != "normalized" || group.contains("normalized")
        let dataset = try openChecked(group, stored ? name : "raw", file: path, shape: [nil, nil, nil])
        let shape = dataset.shape
        let block = filters ?? 0..<shape[0]
        guard block.lowerBound >= 0, block.upperBound <= shape[0] else {
            throw RunStoreError(path: path, object: dataset.name, problem: "filters \(block) outside 0..<\(shape[0])", fix: fix)
        }
        var values = try accessing(fix: fix) { () throws(HDF5Error) in
            try dataset.read(start: [block.lowerBound, 0, 0], count: [block.count, shape[1], shape[2]], as: Double.self)
        }
        if !stored {
            let scaleSet = try openChecked(group, "scale", file: path, shape: [shape[0]])
            let scales = try accessing(fix: fix) { () throws(HDF5Error) in
                try scaleSet.read(start: [block.lowerBound], count: [block.count], as: Double.self)
            }
            let centred = string("normalization") == "column-centred"
            let cells = shape[1] * shape[2]
            values.withUnsafeMutableBufferPointer { all in
                for (k, scale) in scales.enumerated() {
                    MatrixNormalization.apply(UnsafeMutableBufferPointer(rebasing: all[(k * cells)..<((k + 1) * cells)]),
                                              labelCount: shape[1], columnCentred: centred, scale: scale)
                }
            }
        }
        return (block.count, shape[1], values)
    }

    /// Filters F of `layer`.
    public func filterCount(layer: Int) throws(RunStoreError) -> Int {
        try openChecked(try layerGroup(layer), "raw", file: path, shape: [nil, nil, nil]).shape[0]
    }

    private func layerGroup(_ layer: Int) throws(RunStoreError) -> H5Group {
        let groupName = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(groupName), let group = try? file.root.openGroup(groupName) else {
            throw RunStoreError(path: path, object: "/" + groupName, problem: "missing group", fix: fix)
        }
        return group
    }

    /// The top images of `layer`'s filters (`/layers/layerNN/top_images`, `top_activations`, `top_labels`); nil when the file
    /// lacks them (written before they existed, or from a fields.h5 without them).
    public func topImages(layer: Int) throws(RunStoreError) -> TopImageRecord? {
        let groupName = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(groupName + "/top_images"), let group = try? file.root.openGroup(groupName) else { return nil }
        return try TopImageRecord.read(from: group, indices: "top_images", values: "top_activations", labels: "top_labels",
                                       file: path, fix: fix)
    }

    /// A filter x label dataset of `layer` (e.g. "cluster_of_label"), with its shape.
    public func labelColumns(layer: Int, _ name: String) throws(RunStoreError) -> (filters: Int, labels: Int, values: [Double]) {
        let groupName = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(groupName + "/" + name), let group = try? file.root.openGroup(groupName) else {
            throw RunStoreError(path: path, object: "/\(groupName)/\(name)", problem: "missing dataset", fix: fix)
        }
        let dataset = try openChecked(group, name, file: path, shape: [nil, nil])
        let values = try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
        return (dataset.shape[0], dataset.shape[1], values)
    }

    /// `/images_per_label`: the test images of each true label phase 3 ran over; nil in files written before it.
    public func imagesPerLabel() throws(RunStoreError) -> [Int]? {
        guard file.root.contains("images_per_label") else { return nil }
        let dataset = try openChecked(file.root, "images_per_label", file: path, shape: [nil])
        return try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Int64.self).map { Int($0) } }
    }

    /// A per-filter column of `layer` (length F), e.g. "dominant_label", "signal".
    public func filterColumn(layer: Int, _ name: String) throws(RunStoreError) -> [Double] {
        let groupName = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(groupName + "/" + name), let group = try? file.root.openGroup(groupName) else {
            throw RunStoreError(path: path, object: "/\(groupName)/\(name)", problem: "missing dataset", fix: fix)
        }
        let dataset = try openChecked(group, name, file: path, shape: [nil])
        return try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
    }
}

/// The normalization of a filter-label matrix (docs/method.md, phase 3), said once: Analysis normalizes with it, and
/// the reader of `analysis.h5` derives the normalized matrices of layout version 3 with it from `raw` and `scale`.
public enum MatrixNormalization {
    /// Subtracts from each column of the L x L row-major `matrix` its mean over the rows (column-centred
    /// normalization's centring).
    public static func centreColumns(_ matrix: UnsafeMutableBufferPointer<Double>, labelCount: Int) {
        var means = [Double](repeating: 0, count: labelCount)
        for index in 0..<matrix.count { means[index % labelCount] += matrix[index] }
        for j in 0..<labelCount { means[j] /= Double(labelCount) }
        for index in 0..<matrix.count { matrix[index] -= means[index % labelCount] }
    }

    /// Turns the raw `matrix` into its normalized form in place: centred first when `columnCentred`, then divided by
    /// `scale` (the largest centred element); all zeros when `scale` is not positive (a silent filter).
    public static func apply(_ matrix: UnsafeMutableBufferPointer<Double>, labelCount: Int, columnCentred: Bool, scale: Double) {
        guard scale > 0 else {
            for index in 0..<matrix.count { matrix[index] = 0 }
            return
        }
        if columnCentred { centreColumns(matrix, labelCount: labelCount) }
        for index in 0..<matrix.count { matrix[index] /= scale }
    }
}

extension TopImageRecord {
    /// Writes the three F x k datasets `indices` (int64), `values` (float64) and `labels` (int32) into `group`,
    /// dimensions `filter`, `rank`.
    func write(to group: H5Group, indices: String, values: String, labels: String) throws(HDF5Error) {
        try group.write(indices, self.indices, shape: [filters, count]).setDimensionLabels(["filter", "rank"])
        try group.write(values, self.values, shape: [filters, count]).setDimensionLabels(["filter", "rank"])
        try group.write(labels, self.labels, shape: [filters, count]).setDimensionLabels(["filter", "rank"])
    }

    /// Reads the datasets written by `write(to:indices:values:labels:)`, checking that all are F x k alike.
    static func read(from group: H5Group, indices: String, values: String, labels: String, file: String,
                     fix: String) throws(RunStoreError) -> TopImageRecord {
        let indexSet = try openChecked(group, indices, file: file, shape: [nil, nil])
        let shape = indexSet.shape
        let valueSet = try openChecked(group, values, file: file, shape: [shape[0], shape[1]])
        let labelSet = try openChecked(group, labels, file: file, shape: [shape[0], shape[1]])
        let (read, numbers, names) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try indexSet.read(as: Int64.self), try valueSet.read(as: Double.self), try labelSet.read(as: Int32.self))
        }
        return TopImageRecord(filters: shape[0], count: shape[1], indices: read, values: numbers, labels: names)
    }
}
