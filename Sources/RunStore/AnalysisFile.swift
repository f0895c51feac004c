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

/// Phase 3 results of one layer, as stored in `analysis.h5` under `/layers/layerNN`.
public struct AnalysisLayerRecord: Sendable {
    /// 1-based layer.
    public var layer: Int
    /// Filters F (the layer's channels C).
    public var filterCount: Int
    /// Labels L.
    public var labelCount: Int
    /// F x L x L raw filter-label matrices (rows: input labels, columns: output labels).
    public var raw: [Double]
    /// F x L x L normalized matrices.
    public var normalized: [Double]
    /// F x L x L binary matrices (0/1).
    public var binary: [UInt8]
    /// F x L: the cluster index (0-based, in discovery order) of each label, -1 when in none.
    public var clusterOfLabel: [Int32]
    /// Integer per-filter columns (length F each): cluster_count, signal, noise, silent, dominant_label, ...
    public var filterIntegers: [(name: String, values: [Int32])]
    /// Real per-filter columns (length F each): dominant_ones_ratio.
    public var filterReals: NamedColumns
    /// The filters' top images (F x k), nil when the source held none (a fields.h5 written without them).
    public var topImages: TopImageRecord?

    public init(layer: Int, filterCount: Int, labelCount: Int, raw: [Double], normalized: [Double], binary: [UInt8],
                clusterOfLabel: [Int32], filterIntegers: [(name: String, values: [Int32])], filterReals: NamedColumns,
                topImages: TopImageRecord? = nil) {
        self.layer = layer
        self.filterCount = filterCount
        self.labelCount = labelCount
        self.raw = raw
        self.normalized = normalized
        self.binary = binary
        self.clusterOfLabel = clusterOfLabel
        self.filterIntegers = filterIntegers
        self.filterReals = filterReals
        self.topImages = topImages
    }
}

/// Writes `analysis.h5` (temporary name, renamed by `commit()`).
public final class AnalysisFileWriter {
    private let staged: StagedFile
    private let fix = StagedFile.fix

    /// Starts the file; `attributes` and `numbers` go to the root (threshold, normalization, ...).
    public init(creating url: URL, labelNames: [String], attributes: [(String, String)], numbers: [(String, Double)]) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.analysisFormat)
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            try root.setAttribute("label_names", labelNames)
            for (name, value) in attributes { try root.setAttribute(name, value) }
            for (name, value) in numbers { try root.setAttribute(name, value) }
        }
    }

    /// Writes `/images_per_label` (int64 [label]): the test images of each true label the analysis ran over.
    public func writeImagesPerLabel(_ counts: [Int]) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            try root.write("images_per_label", counts.map(Int64.init), shape: [counts.count]).setDimensionLabels(["label"])
        }
    }

    /// Writes one layer's matrices and per-filter columns.
    public func writeLayer(_ record: AnalysisLayerRecord, attributes: [(String, Double)]) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.group("layers").createGroup(RunLayout.layerName(record.layer))
            try group.setAttribute("layer", record.layer)
            for (name, value) in attributes { try group.setAttribute(name, value) }
            let (f, l) = (record.filterCount, record.labelCount)
            let cube = [f, l, l]
            let cubeNames = ["filter", "input_label", "output_label"]
            let chunk = [max(1, min(f, 64)), l, l]
            try group.write("raw", record.raw, shape: cube, chunk: chunk, compression: 4).setDimensionLabels(cubeNames)
            try group.write("normalized", record.normalized, shape: cube, chunk: chunk, compression: 4).setDimensionLabels(cubeNames)
            try group.write("binary", record.binary, shape: cube, chunk: chunk, compression: 4).setDimensionLabels(cubeNames)
            try group.write("cluster_of_label", record.clusterOfLabel, shape: [f, l]).setDimensionLabels(["filter", "label"])
            for (name, values) in record.filterIntegers {
                try group.write(name, values, shape: [f]).setDimensionLabels(["filter"])
            }
            for (name, values) in record.filterReals {
                try group.write(name, values, shape: [f]).setDimensionLabels(["filter"])
            }
            if let top = record.topImages {
                try top.write(to: group, indices: "top_images", values: "top_activations", labels: "top_labels")
            }
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
            try group.write("layer", layers.map(Int32.init), shape: [layers.count]).setDimensionLabels(["layer"])
            for (name, values) in columns {
                try group.write(name, values, shape: [layers.count]).setDimensionLabels(["layer"])
            }
            let labels = clusterSizeHistogram.first?.count ?? 0
            try group.write("cluster_size_histogram", clusterSizeHistogram.flatMap { $0 }, shape: [layers.count, labels])
                .setDimensionLabels(["layer", "cluster_size"])
            try group.write("dominant_label_share", dominantLabelShare.flatMap { $0 }, shape: [layers.count, labels])
                .setDimensionLabels(["layer", "label"])
        }
    }

    /// Writes the threshold sweep under `/sweep`: thresholds (T) and one T x layers dataset per column.
    public func writeSweep(thresholds: [Double], layers: Int, columns: NamedColumns) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.createGroup("sweep")
            try group.write("threshold", thresholds, shape: [thresholds.count]).setDimensionLabels(["threshold"])
            for (name, values) in columns {
                try group.write(name, values, shape: [thresholds.count, layers]).setDimensionLabels(["threshold", "layer"])
            }
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        try staged.commit()
    }
}

/// Reads `analysis.h5`.
public final class AnalysisFileReader {
    /// The file.
    public let path: String
    private let file: H5File
    private let fix = "re-run `filterlens analyze`"

    /// Opens and validates `url`.
    public init(_ url: URL) throws(RunStoreError) {
        path = url.path
        file = try openValidated(url.path, format: RunLayout.analysisFormat, producer: "filterlens analyze")
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

    /// The F x L x L dataset `name` ("raw", "normalized", "binary") of `layer`, with F.
    public func matrices(layer: Int, _ name: String) throws(RunStoreError) -> (filters: Int, labels: Int, values: [Double]) {
        let groupName = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(groupName), let group = try? file.root.openGroup(groupName) else {
            throw RunStoreError(path: path, object: "/" + groupName, problem: "missing group", fix: fix)
        }
        let dataset = try openChecked(group, name, file: path, shape: [nil, nil, nil])
        let values = try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
        return (dataset.shape[0], dataset.shape[1], values)
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
