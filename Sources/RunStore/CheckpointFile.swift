import Foundation
import HDF5

/// Where an interrupted epoch stopped: with the seeded shuffle and augmentation streams of that epoch, enough to
/// continue it exactly as an uninterrupted run would.
public struct EpochCursor: Codable, Equatable, Sendable {
    /// The epoch in progress, 0-based.
    public var epoch: Int
    /// Training images of this epoch already stepped through (whole batches, in the epoch's shuffled order).
    public var imagesDone: Int
    /// Sums of loss x batch size over the batches done: one per trained model (1 in phase 1, 1 per head in phase 2).
    public var lossSums: [Double]
    /// Training images classified correctly so far (phase 1; 0 in phase 2).
    public var correct: Int
    /// Seconds spent on this epoch before the interruption.
    public var seconds: Double

    public init(epoch: Int, imagesDone: Int, lossSums: [Double], correct: Int, seconds: Double) {
        self.epoch = epoch
        self.imagesDone = imagesDone
        self.lossSums = lossSums
        self.correct = correct
        self.seconds = seconds
    }
}

/// The state of an interrupted phase 1: written to `checkpoint.h5` (atomically) after every epoch, every few minutes
/// inside an epoch and on Ctrl-C; read by `--resume`.
public struct Checkpoint: Sendable {
    /// The run's configuration; a resume must use the same.
    public var configuration: RunConfiguration
    /// Epochs completed.
    public var completedEpochs: Int
    /// Metrics of the completed epochs.
    public var metrics: [EpochMetrics]
    /// Flat state buffers by name ("parameters", "statistics", "velocity").
    public var buffers: [String: [Float]]
    /// Where the epoch in progress stopped; nil when the checkpoint falls between epochs.
    public var cursor: EpochCursor?
    /// The run's provenance as collected when it was launched (and amended by resumes), for run.h5's `/provenance`.
    public var provenance: [String: String]?

    public init(configuration: RunConfiguration, completedEpochs: Int, metrics: [EpochMetrics], buffers: [String: [Float]],
                cursor: EpochCursor? = nil, provenance: [String: String]? = nil) {
        self.configuration = configuration
        self.completedEpochs = completedEpochs
        self.metrics = metrics
        self.buffers = buffers
        self.cursor = cursor
        self.provenance = provenance
    }
}

/// Reads and writes `checkpoint.h5`: root attributes `format` = "filterlens-checkpoint", `format_version`,
/// `completed_epochs`, `config_json`, `metrics_json`, `provenance_json` and, inside an epoch, `cursor_json`; one 1-D
/// float32 dataset per state buffer.
public enum CheckpointFile {
    /// Root attribute `format` of a checkpoint.
    public static let format = "filterlens-checkpoint"

    /// Writes a checkpoint atomically to `url`; `buffers` replace `checkpoint.buffers` (no copy of large state).
    public static func save(_ checkpoint: Checkpoint, to url: URL,
                            buffers: [(name: String, values: UnsafeBufferPointer<Float>)]) throws(RunStoreError) {
        var documents = [("config_json", StateFile.json(checkpoint.configuration)), ("metrics_json", StateFile.json(checkpoint.metrics))]
        if let cursor = checkpoint.cursor { documents.append(("cursor_json", StateFile.json(cursor))) }
        if let provenance = checkpoint.provenance { documents.append(("provenance_json", StateFile.json(provenance))) }
        try StateFile.save(to: url, format: format, integers: [("completed_epochs", checkpoint.completedEpochs)],
                           documents: documents, buffers: buffers)
    }

    /// Reads the checkpoint at `url`; with `readingBuffers` false its `buffers` stay empty (the progress alone,
    /// without reading the network's state: `filterlens status`).
    public static func load(from url: URL, readingBuffers: Bool = true) throws(RunStoreError) -> Checkpoint {
        let fix = "the checkpoint is damaged: restore it from a copy, or start the run again with --force (its epochs are lost)"
        let state = try StateFile.load(from: url, format: format, producer: "filterlens train", fix: fix,
                                       integers: ["completed_epochs"], documents: ["config_json", "metrics_json"],
                                       optionalDocuments: ["cursor_json", "provenance_json"], readingBuffers: readingBuffers)
        return Checkpoint(
            configuration: try state.decode(RunConfiguration.self, "config_json"), completedEpochs: state.integers["completed_epochs"]!,
            metrics: try state.decode([EpochMetrics].self, "metrics_json"), buffers: state.buffers,
            cursor: try state.decodeIfPresent(EpochCursor.self, "cursor_json"),
            provenance: try state.decodeIfPresent([String: String].self, "provenance_json"))
    }
}

/// The state of an interrupted phase 2: every head's weights and momentum, their history and the recipe.
public struct ProbeCheckpoint: Sendable {
    /// What identifies the training: recipe, seed and the epochs done per head.
    public struct Progress: Codable, Equatable, Sendable {
        public var recipe: ProbeConfiguration
        public var seed: UInt64
        /// Per head (index 0 = layer 1), the epochs trained.
        public var history: [[ProbeEpoch]]
        /// Wall-clock seconds of each epoch completed (all heads together), for `filterlens status`'s estimate; nil in
        /// checkpoints written before it was recorded.
        public var epochSeconds: [Double]?
        public init(recipe: ProbeConfiguration, seed: UInt64, history: [[ProbeEpoch]], epochSeconds: [Double]? = nil) {
            self.recipe = recipe
            self.seed = seed
            self.history = history
            self.epochSeconds = epochSeconds
        }
    }

    public var progress: Progress
    /// State buffers by name: "head01.weight", "head01.velocity", ...
    public var buffers: [String: [Float]]
    /// Where the epoch in progress stopped; nil between epochs.
    public var cursor: EpochCursor?

    public init(progress: Progress, buffers: [String: [Float]], cursor: EpochCursor?) {
        self.progress = progress
        self.buffers = buffers
        self.cursor = cursor
    }
}

/// Reads and writes `probe-checkpoint.h5`: root attributes `format` = "filterlens-probe-checkpoint", `format_version`,
/// `progress_json` (recipe, seed, history, epoch seconds) and, inside an epoch, `cursor_json`; one 1-D float32 dataset per buffer.
public enum ProbeCheckpointFile {
    /// Root attribute `format` of a phase 2 checkpoint.
    public static let format = "filterlens-probe-checkpoint"

    /// Writes the checkpoint atomically to `url`.
    public static func save(_ progress: ProbeCheckpoint.Progress, cursor: EpochCursor?, to url: URL,
                            buffers: [(name: String, values: UnsafeBufferPointer<Float>)]) throws(RunStoreError) {
        var documents = [("progress_json", StateFile.json(progress))]
        if let cursor { documents.append(("cursor_json", StateFile.json(cursor))) }
        try StateFile.save(to: url, format: format, integers: [], documents: documents, buffers: buffers)
    }

    /// Reads the checkpoint at `url`; with `readingBuffers` false its `buffers` stay empty.
    public static func load(from url: URL, readingBuffers: Bool = true) throws(RunStoreError) -> ProbeCheckpoint {
        let fix = "the phase 2 checkpoint is damaged: delete it and run `filterlens probe` again"
        let state = try StateFile.load(from: url, format: format, producer: "filterlens probe", fix: fix, integers: [],
                                       documents: ["progress_json"], optionalDocuments: ["cursor_json"],
                                       readingBuffers: readingBuffers)
        return ProbeCheckpoint(progress: try state.decode(ProbeCheckpoint.Progress.self, "progress_json"), buffers: state.buffers,
                               cursor: try state.decodeIfPresent(EpochCursor.self, "cursor_json"))
    }
}

/// The contents of a state file: integer and JSON attributes of the root, and its float32 datasets.
struct StateFileContents {
    let path: String
    let fix: String
    var integers: [String: Int]
    var documents: [String: String]
    var buffers: [String: [Float]]

    /// Decodes JSON attribute `name`.
    func decode<T: Decodable>(_ type: T.Type, _ name: String) throws(RunStoreError) -> T {
        guard let value = try decodeIfPresent(type, name) else {
            throw RunStoreError(path: path, object: "/@\(name)", problem: "missing", fix: fix)
        }
        return value
    }

    /// Decodes JSON attribute `name` if the file has it.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, _ name: String) throws(RunStoreError) -> T? {
        guard let json = documents[name] else { return nil }
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch {
            throw RunStoreError(path: path, object: "/@\(name)", problem: "unreadable (\(error))", fix: fix)
        }
    }
}

/// Checkpoint files: a validated root with integer and JSON attributes and flat float32 datasets, written atomically.
enum StateFile {
    /// `value` as sorted-key JSON (Doubles in shortest round-trip form).
    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder.sorted.encode(value)) ?? Data(), as: UTF8.self)
    }

    /// Writes a state file atomically to `url`.
    static func save(to url: URL, format: String, integers: [(String, Int)], documents: [(String, String)],
                     buffers: [(name: String, values: UnsafeBufferPointer<Float>)]) throws(RunStoreError) {
        let staged = try StagedFile(creating: url, format: format)
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            for (name, value) in integers { try root.setAttribute(name, value) }
            for (name, value) in documents { try root.setAttribute(name, value) }
            for (name, values) in buffers { try root.write(name, Array(values), shape: [values.count]) }
        }
        try staged.commit()
    }

    /// Reads a state file (its datasets only where `readingBuffers`); a missing required attribute or an unreadable
    /// dataset is a `RunStoreError` with `fix`.
    static func load(from url: URL, format: String, producer: String, fix: String, integers: [String], documents: [String],
                     optionalDocuments: [String], readingBuffers: Bool = true) throws(RunStoreError) -> StateFileContents {
        let file = try openValidated(url.path, format: format, producer: producer, damaged: fix)
        let root = file.root
        var contents = StateFileContents(path: url.path, fix: fix, integers: [:], documents: [:], buffers: [:])
        let names = try accessing(fix: fix) { () throws(HDF5Error) in
            for name in integers { contents.integers[name] = try root.intAttribute(name) }
            for name in documents { contents.documents[name] = try root.stringAttribute(name) }
            for name in optionalDocuments where root.hasAttribute(name) { contents.documents[name] = try root.stringAttribute(name) }
            return try root.memberNames()
        }
        for name in names where readingBuffers {
            contents.buffers[name] = try accessing(fix: fix) { () throws(HDF5Error) in try root.openDataset(name).read(as: Float.self) }
        }
        return contents
    }
}

/// Phase 3's progress: the raw filter-label matrices of the layers analysed so far, and the source files they came
/// from. The raw matrices depend only on the probes and activations.h5 (or fields.h5), not on threshold or normalization.
public struct AnalysisCheckpoint: Sendable {
    /// Size and modification time of the source files; a checkpoint of other sources is not resumed.
    public var sources: String
    /// Per layer done, the raw matrices (filters x labels x labels, row-major) and their filter and label counts.
    public var layers: [Int: (filters: Int, labels: Int, raw: [Double])]
    /// Per layer done, its filters' top images when the source gave them.
    public var topImages: [Int: TopImageRecord]

    public init(sources: String, layers: [Int: (filters: Int, labels: Int, raw: [Double])], topImages: [Int: TopImageRecord] = [:]) {
        self.sources = sources
        self.layers = layers
        self.topImages = topImages
    }

    /// The identity of `files` (paths) for `sources`: "name size mtime" per file.
    public static func identity(of files: [URL]) -> String {
        files.map { url in
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            return "\(url.lastPathComponent) \(size) \(modified)"
        }.joined(separator: "; ")
    }
}

/// Reads and writes `analysis-checkpoint.h5`: root attributes `format` = "filterlens-analysis-checkpoint",
/// `format_version`, `sources`; one float64 dataset "layerNN" (filters x labels x labels) per layer done, and with
/// it, when the layer has top images, "layerNN_top_images" (int64), "layerNN_top_activations" (float64) and "layerNN_top_labels" (int32), F x k.
public enum AnalysisCheckpointFile {
    /// Root attribute `format` of a phase 3 checkpoint.
    public static let format = "filterlens-analysis-checkpoint"

    /// Writes the checkpoint atomically to `url`.
    public static func save(_ checkpoint: AnalysisCheckpoint, to url: URL) throws(RunStoreError) {
        let staged = try StagedFile(creating: url, format: format)
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("sources", checkpoint.sources)
            for (layer, matrices) in checkpoint.layers.sorted(by: { $0.key < $1.key }) {
                try root.write(RunLayout.layerName(layer), matrices.raw, shape: [matrices.filters, matrices.labels, matrices.labels])
                if let top = checkpoint.topImages[layer] {
                    let name = RunLayout.layerName(layer)
                    try top.write(to: root, indices: name + "_top_images", values: name + "_top_activations", labels: name + "_top_labels")
                }
            }
        }
        try staged.commit()
    }

    /// Reads the checkpoint at `url`.
    public static func load(from url: URL) throws(RunStoreError) -> AnalysisCheckpoint {
        let fix = "the phase 3 checkpoint is damaged: delete it and run `filterlens analyze` again"
        let file = try openValidated(url.path, format: format, producer: "filterlens analyze", damaged: fix)
        let root = file.root
        let (sources, names) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try root.stringAttribute("sources"), try root.memberNames())
        }
        var layers: [Int: (filters: Int, labels: Int, raw: [Double])] = [:]
        for name in names {
            guard name.hasPrefix("layer"), let layer = Int(name.dropFirst(5)) else { continue }
            let dataset = try openChecked(root, name, file: url.path, shape: [nil, nil, nil])
            let shape = dataset.shape
            guard shape[1] == shape[2] else {
                throw RunStoreError(path: url.path, object: "/\(name)", problem: "not filters x labels x labels", fix: fix)
            }
            let raw = try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
            layers[layer] = (shape[0], shape[1], raw)
        }
        var topImages: [Int: TopImageRecord] = [:]
        for layer in layers.keys where names.contains(RunLayout.layerName(layer) + "_top_images") {
            let name = RunLayout.layerName(layer)
            topImages[layer] = try TopImageRecord.read(from: root, indices: name + "_top_images", values: name + "_top_activations",
                                                       labels: name + "_top_labels", file: url.path, fix: fix)
        }
        return AnalysisCheckpoint(sources: sources, layers: layers, topImages: topImages)
    }
}
