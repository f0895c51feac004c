import Foundation
import HDF5

/// Writes `fields.h5`: per layer, the sums of the output fields over the test images of each true label, and the
/// image count per label (docs/hdf5-layout.md, `fields.h5`). What phase 3 needs of the test set, without the
/// activations; written by filterlens-torch's `dissect`, and here for round trips.
public final class FieldSumsWriter {
    private let staged: StagedFile
    /// Labels L.
    public let labelCount: Int

    /// Starts the file with `/images_per_label` (length L) and the root attributes; `split` names the images ("test").
    public init(creating url: URL, imagesPerLabel: [Int], split: String = "test", producer: String = "filterlens " + RunLayout.toolVersion) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.fieldsFormat, version: RunLayout.fieldsVersion)
        labelCount = imagesPerLabel.count
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("split", split)
            try root.setAttribute("images", imagesPerLabel.reduce(0, +))
            try root.setAttribute("producer", producer)
            try root.write("images_per_label", imagesPerLabel.map(Int64.init), shape: [imagesPerLabel.count])
                .setDimensionLabels(["label"])
        }
    }

    /// Writes `/layerNN`: `sums` is L x C x L, [input_label i][filter f][output_label j], row-major.
    public func writeLayer(_ layer: Int, sums: [Double], shape: BlockShape, module: String = "") throws(RunStoreError) {
        precondition(sums.count == labelCount * shape.channels * labelCount, "sums must hold labels x C x labels values")
        let cells = shape.channels * labelCount
        try writeLayer(layer, shape: shape, module: module) { rows in Array(sums[(rows.lowerBound * cells)..<(rows.upperBound * cells)]) }
    }

    /// Writes `/layerNN` a block of input labels at a time (about 64 MB each): `rows(i0..<i1)` gives the sums of
    /// those input labels, (i1 - i0) x C x L, so that a layer of 1,000 labels never sits in memory whole.
    public func writeLayer(_ layer: Int, shape: BlockShape, module: String = "", rows: (Range<Int>) -> [Double]) throws(RunStoreError) {
        let root = staged.root
        let labelCount = self.labelCount
        let block = max(1, (64 << 20) / max(1, shape.channels * labelCount * 8))
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            let dataset = try root.createDataset(RunLayout.layerName(layer), type: .float64, shape: [labelCount, shape.channels, labelCount])
            var first = 0
            while first < labelCount {
                let range = first..<min(labelCount, first + block)
                let values = rows(range)
                precondition(values.count == range.count * shape.channels * labelCount, "rows must hold rows x C x labels values")
                try values.withUnsafeBufferPointer { buffer throws(HDF5Error) in
                    try dataset.write(buffer, start: [range.lowerBound, 0, 0], count: [range.count, shape.channels, labelCount])
                }
                first = range.upperBound
            }
            try dataset.setDimensionLabels(["input_label", "filter", "output_label"])
            try dataset.setAttribute("layer", layer)
            try dataset.setAttribute("channels", shape.channels)
            try dataset.setAttribute("height", shape.height)
            try dataset.setAttribute("width", shape.width)
            if !module.isEmpty { try dataset.setAttribute("module", module) }
            try root.setAttribute("layer_count", try root.memberNames().filter { $0.hasPrefix("layer") }.count)
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        try staged.commit()
    }
}

/// Reads `fields.h5`, validating its format, version, counts and shapes.
public final class FieldSumsReader {
    /// The file.
    public let path: String
    private let file: H5File
    private let fix = "write fields.h5 with filterlens-torch's dissect (python/), as docs/hdf5-layout.md describes"
    /// Test images per true label (length L).
    public let imagesPerLabel: [Int]
    /// Layers stored, ascending (1-based).
    public let layers: [Int]

    /// Opens and validates `url`.
    public init(_ url: URL) throws(RunStoreError) {
        path = url.path
        file = try openValidated(url.path, format: RunLayout.fieldsFormat, versions: RunLayout.fieldsVersion...RunLayout.fieldsVersion,
                                 producer: "filterlens_torch.dissect")
        let countSet = try openChecked(file.root, "images_per_label", file: url.path, shape: [nil])
        let fix = self.fix
        let counts = try accessing(fix: fix) { () throws(HDF5Error) in try countSet.read(as: Int64.self) }
        if let negative = counts.first(where: { $0 < 0 }) {
            throw RunStoreError(path: url.path, object: "/images_per_label", problem: "negative count \(negative)", fix: fix)
        }
        guard counts.reduce(0, +) > 0 else {
            throw RunStoreError(path: url.path, object: "/images_per_label", problem: "no images", fix: fix)
        }
        imagesPerLabel = counts.map { Int($0) }
        let root = file.root
        let names = try accessing(fix: fix) { () throws(HDF5Error) in try root.memberNames() }
        layers = names.compactMap { $0.hasPrefix("layer") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    /// Number of images the sums run over.
    public var imageCount: Int { imagesPerLabel.reduce(0, +) }

    /// Opens `/layerNN`, checking that it is L x C x L with `@channels` = C and `@height`, `@width`.
    private func dataset(_ layer: Int) throws(RunStoreError) -> (H5Dataset, BlockShape) {
        let name = RunLayout.layerName(layer)
        let labels = imagesPerLabel.count
        let dataset = try openChecked(file.root, name, file: path, shape: [labels, nil, labels])
        let fix = self.fix
        let (channels, height, width) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try dataset.intAttribute("channels"), try dataset.intAttribute("height"), try dataset.intAttribute("width"))
        }
        guard channels == dataset.shape[1] else {
            throw RunStoreError(path: path, object: "/\(name)@channels",
                                problem: "@channels is \(channels) but the sums hold \(dataset.shape[1]) filters", fix: fix)
        }
        return (dataset, BlockShape(channels: channels, height: height, width: width))
    }

    /// C x H x W of layer `layer`'s block output.
    public func shape(layer: Int) throws(RunStoreError) -> BlockShape {
        try dataset(layer).1
    }

    /// The top images of layer `layer`'s filters (`/top_images/layerNN`), nil when the file holds none (written by a
    /// filterlens-torch without them).
    public func topImages(layer: Int) throws(RunStoreError) -> TopImageRecord? {
        let name = "top_images/" + RunLayout.layerName(layer)
        guard file.root.contains(name), let group = try? file.root.openGroup(name) else { return nil }
        return try TopImageRecord.read(from: group, indices: "top_images", values: "top_activations", labels: "top_labels",
                                       file: path, fix: fix)
    }

    /// The small copies of the top images (`/image_copies`), nil when the file holds none.
    public func imageCopies() throws(RunStoreError) -> ImageCopies? {
        guard file.root.contains("image_copies"), let group = try? file.root.openGroup("image_copies") else { return nil }
        let pixels = try openChecked(group, "pixels", file: path, shape: [nil, nil, nil, 3])
        let shape = pixels.shape
        let indices = try openChecked(group, "index", file: path, shape: [shape[0]])
        let fix = self.fix
        let (bytes, index) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try pixels.read(as: UInt8.self), try indices.read(as: Int64.self))
        }
        return ImageCopies(indices: index.map { Int($0) }, height: shape[1], width: shape[2], pixels: bytes)
    }

    /// The sums of layer `layer`: L x C x L, [input_label i][filter f][output_label j], row-major; with `filters`,
    /// those of a block of n filters only (L x n x L), so that a layer is read a block at a time.
    public func sums(layer: Int, filters: Range<Int>? = nil) throws(RunStoreError) -> [Double] {
        let (dataset, shape) = try dataset(layer)
        let labels = imagesPerLabel.count
        let block = filters ?? 0..<shape.channels
        let sums = try accessing(fix: fix) { () throws(HDF5Error) in
            try dataset.read(start: [0, block.lowerBound, 0], count: [labels, block.count, labels], as: Double.self)
        }
        guard sums.allSatisfy(\.isFinite) else {
            throw RunStoreError(path: path, object: "/" + RunLayout.layerName(layer), problem: "holds NaN or infinite sums",
                                fix: "check the network and its probe of layer \(layer) for NaN weights, then dissect again")
        }
        return sums
    }
}

/// Small RGB copies of test images, for the report's filter panels: filterlens-torch's `dissect` stores those of its
/// top images in fields.h5 (`/image_copies`), since the test set itself may be too large to ship with the run.
public struct ImageCopies: Sendable, Equatable {
    /// The test-image index of each copy (N).
    public var indices: [Int]
    /// Pixels per copy: height x width.
    public var height: Int, width: Int
    /// N x height x width x 3 bytes (RGB, row-major).
    public var pixels: [UInt8]

    public init(indices: [Int], height: Int, width: Int, pixels: [UInt8]) {
        precondition(pixels.count == indices.count * height * width * 3, "pixels must hold N x height x width x 3 bytes")
        self.indices = indices
        self.height = height
        self.width = width
        self.pixels = pixels
    }
}
