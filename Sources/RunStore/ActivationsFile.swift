import Foundation
import HDF5

/// Shape of one layer's block output for one image: C x H x W.
public struct BlockShape: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }
    /// C * H * W.
    public var count: Int { channels * height * width }
}

/// Streams the test-set block outputs of every convolutional layer into `activations.h5`, batch by batch.
///
/// Each `/layerNN` dataset is N x C x H x W float32, chunked by whole images (about 1 MiB a chunk) with shuffle and
/// gzip. The file is renamed into place by `commit()`.
public final class ActivationsWriter {
    private let staged: StagedFile
    private var datasets: [H5Dataset] = []
    private var committed = false
    private let fix = "check free disk space (activations take about 4 bytes x N x C x H x W per layer before compression)"
    /// Images in the file.
    public let count: Int
    /// Block shapes, index 0 = layer 1.
    public let shapes: [BlockShape]

    /// Creates the file with one dataset per layer and the labels; `split` names the images ("test").
    public init(creating url: URL, labels: [Int32], shapes: [BlockShape], split: String = "test",
                compression: Int = 1) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.activationsFormat)
        count = labels.count
        self.shapes = shapes
        let count = self.count
        let root = staged.root
        datasets = try accessing(fix: fix) { () throws(HDF5Error) in
            try root.setAttribute("split", split)
            try root.setAttribute("layer_count", shapes.count)
            let labelSet = try root.write("labels", labels, shape: [count])
            try labelSet.setDimensionLabels(["image"])
            var datasets: [H5Dataset] = []
            for (index, shape) in shapes.enumerated() {
                let imagesPerChunk = max(1, min(count, (1 << 20) / (4 * shape.count)))
                let dataset = try root.createDataset(
                    RunLayout.layerName(index + 1), type: .float32,
                    shape: [count, shape.channels, shape.height, shape.width],
                    chunk: [imagesPerChunk, shape.channels, shape.height, shape.width], compression: compression)
                try dataset.setDimensionLabels(["image", "channel", "height", "width"])
                try dataset.setAttribute("layer", index + 1)
                try dataset.setAttribute("description", "block output of convolutional layer \(index + 1): after batch norm and ReLU, and after the max-pool when one follows")
                datasets.append(dataset)
            }
            return datasets
        }
    }

    /// Writes images [start, start + batch) of layer `layer` (1-based); `values` is batch x C x H x W.
    public func write(layer: Int, start: Int, batch: Int, values: UnsafeBufferPointer<Float>) throws(RunStoreError) {
        let shape = shapes[layer - 1]
        precondition(values.count >= batch * shape.count, "values must hold batch x C x H x W floats")
        let dataset = datasets[layer - 1]
        try accessing(fix: fix) { () throws(HDF5Error) in
            try dataset.write(UnsafeBufferPointer(rebasing: values[0..<(batch * shape.count)]),
                              start: [start, 0, 0, 0], count: [batch, shape.channels, shape.height, shape.width])
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        datasets = []
        try staged.commit()
        committed = true
    }

    /// After a failure, the open datasets are left open with their file (see `StagedFile`).
    deinit {
        if !committed { datasets.forEach { _ = Unmanaged.passRetained($0) } }
    }
}

/// How `ActivationsReader` reads the block outputs.
public enum ActivationsReadPath: Sendable {
    /// Direct chunk reads, inflated with libdeflate on all cores (`DirectChunkReader`) for every dataset in
    /// FilterLens's own layout (chunks of whole images, shuffle + deflate, float32); HDF5's `H5Dread` for others.
    case direct
    /// HDF5's `H5Dread` for every dataset (its filter pipeline, one core). For tests that compare both paths.
    case plain
}

/// Reads `activations.h5` in blocks of images, never whole.
public final class ActivationsReader {
    /// The file.
    public let path: String
    private let file: H5File
    private var datasets: [Int: H5Dataset] = [:]
    /// The direct reader of the layer read last (nil when that layer is read through HDF5): one at a time, as its
    /// buffers (a few chunks, about 1 MiB each) are needed only while a layer is streamed.
    private var directReader: (layer: Int, reader: DirectChunkReader?)?
    /// How blocks are read.
    public let readPath: ActivationsReadPath
    /// Threads of the direct reads.
    private let readThreads: Int
    /// True labels of the images (N).
    public let labels: [Int32]
    /// Layers stored, ascending (1-based).
    public let layers: [Int]

    /// The fix named by errors of damaged block outputs.
    static let damagedFix = "the activations file may be damaged: re-run `filterlens train`"

    /// Opens and validates `url`; `readPath` chooses how blocks are read (the default reads FilterLens's own
    /// layout directly, on `readThreads` threads: by default every core, at most 8).
    public init(_ url: URL, readPath: ActivationsReadPath = .direct,
                readThreads: Int = min(8, ProcessInfo.processInfo.activeProcessorCount)) throws(RunStoreError) {
        path = url.path
        self.readPath = readPath
        self.readThreads = max(1, readThreads)
        file = try openValidated(url.path, format: RunLayout.activationsFormat, producer: "filterlens train")
        let labelSet = try openChecked(file.root, "labels", file: url.path, shape: [nil])
        labels = try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try labelSet.read(as: Int32.self) }
        let root = file.root
        let names = try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try root.memberNames() }
        layers = names.compactMap { $0.hasPrefix("layer") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Opens layer `layer`'s dataset, checking that it is N x C x H x W.
    private func dataset(_ layer: Int) throws(RunStoreError) -> H5Dataset {
        if let dataset = datasets[layer] { return dataset }
        let dataset = try openChecked(file.root, RunLayout.layerName(layer), file: path, shape: [count, nil, nil, nil])
        datasets[layer] = dataset
        return dataset
    }

    /// The direct reader of layer `layer`, nil when it is read through HDF5.
    private func directReader(_ layer: Int) throws(RunStoreError) -> DirectChunkReader? {
        if let directReader, directReader.layer == layer { return directReader.reader }
        directReader = nil
        let reader = readPath == .direct ? DirectChunkReader(dataset: try dataset(layer), filePath: path, workerCount: readThreads) : nil
        directReader = (layer, reader)
        return reader
    }

    /// Whether layer `layer` is read by direct chunk reads (FilterLens's own layout and `readPath == .direct`),
    /// rather than through HDF5's filter pipeline.
    public func readsDirectly(layer: Int) throws(RunStoreError) -> Bool { try directReader(layer) != nil }

    /// C x H x W of layer `layer`'s block output.
    public func shape(layer: Int) throws(RunStoreError) -> BlockShape {
        let shape = try dataset(layer).shape
        return BlockShape(channels: shape[1], height: shape[2], width: shape[3])
    }

    /// Reads images [start, start + batch) of layer `layer` into `buffer` (batch x C x H x W floats, row-major).
    /// The values are the same, bit for bit, on either read path.
    public func read(layer: Int, start: Int, batch: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws(RunStoreError) {
        if let direct = try directReader(layer), try direct.read(start: start, batch: batch, into: buffer) { return }
        let dataset = try dataset(layer)
        let shape = dataset.shape
        try accessing(fix: Self.damagedFix) { () throws(HDF5Error) in
            try dataset.read(start: [start, 0, 0, 0], count: [batch, shape[1], shape[2], shape[3]],
                             into: UnsafeMutableBufferPointer(rebasing: buffer[0..<(batch * shape[1] * shape[2] * shape[3])]))
        }
    }
}
