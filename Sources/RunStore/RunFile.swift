import Foundation
import HDF5

/// Writes `run.h5`: identity, configuration, provenance, phase 1 metrics and final weights. Phase 1 writes it once;
/// no later phase edits it (phase 2 writes probe.h5, `ProbeFileWriter`).
///
/// The file is built under a temporary name and renamed into place by `commit()`.
public final class RunFileWriter {
    private let staged: StagedFile
    private let fix = StagedFile.fix

    /// Starts a new run file at `url`, with a new root `@run_id` (a random UUID) that the files made from it record.
    public init(creating url: URL) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.runFormat)
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            try root.setAttribute("run_id", UUID().uuidString.lowercased())
        }
    }

    private var root: H5Group { staged.root }

    /// Writes the configuration (`/config`), label names and data set (root), and provenance (`/provenance`).
    public func writeHeader(configuration: RunConfiguration, labelNames: [String], provenance: [String: String]) throws(RunStoreError) {
        let json = String(decoding: (try? JSONEncoder.sorted.encode(configuration)) ?? Data(), as: UTF8.self)
        let root = self.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            try root.setAttribute("dataset", configuration.dataset)
            try root.setAttribute("label_names", labelNames)
            let config = try root.group("config")
            try config.setAttribute("json", json)
            try config.setAttribute("preset", configuration.preset)
            try config.setAttribute("notation", configuration.notation)
            try config.setAttribute("head", configuration.head)
            try config.setAttribute("label_count", configuration.labelCount)
            try config.setAttribute("epochs", configuration.epochs)
            try config.setAttribute("batch_size", configuration.batchSize)
            try config.setAttribute("learning_rate", configuration.learningRate)
            try config.setAttribute("momentum", configuration.momentum)
            try config.setAttribute("weight_decay", configuration.weightDecay)
            try config.setAttribute("lr_decay_factor", configuration.learningRateDecayFactor)
            try config.setAttribute("lr_decay_every", configuration.learningRateDecayEvery)
            try config.setAttribute("warmup_batches", configuration.warmupBatches)
            try config.setAttribute("augment", configuration.augment ? 1 : 0)
            try config.setAttribute("seed", Int(truncatingIfNeeded: configuration.seed))
            try config.setAttribute("train_images", configuration.trainImages)
            try config.setAttribute("test_images", configuration.testImages)
            try config.setAttribute("data_directory", configuration.dataDirectory)
            // Additions within format version 1, written when recorded (a configuration of an older kind writes
            // exactly the file it always did).
            if let labels = configuration.labels { try config.setAttribute("labels", labels) }
            if let format = configuration.dataFormat { try config.setAttribute("data_format", format) }
            if let labelSet = configuration.labelSet { try config.setAttribute("label_set", labelSet) }
            if let md5 = configuration.dataMD5 { try config.setAttribute("data_md5", md5) }
            try config.setAttribute("lr_schedule", (configuration.learningRateSchedule ?? .step).rawValue)
            // The initialization and fill as used: a run resumed from a checkpoint made before they were recorded
            // writes what it used ("he-normal", "black").
            try config.setAttribute("conv_init", configuration.convolutionInitializationUsed)
            try config.setAttribute("shift_fill", configuration.shiftFillUsed.rawValue)
            if let algorithms = configuration.convolutionAlgorithms {
                try config.setAttribute("convolution_algorithms", algorithms.joined(separator: ","))
            }
            let info = try root.group("provenance")
            for (key, value) in provenance.sorted(by: { $0.key < $1.key }) {
                try info.setAttribute(key, value)
            }
        }
    }

    /// Writes phase 1's per-epoch metrics under `/training` (one 1-D dataset per quantity, length = epochs).
    public func writeMetrics(_ metrics: [EpochMetrics]) throws(RunStoreError) {
        let root = self.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.group("training")
            let columns: [(String, (EpochMetrics) -> Double)] = [
                ("learning_rate", \.learningRate), ("train_loss", \.trainLoss), ("train_sr", \.trainSR),
                ("test_loss", \.testLoss), ("test_sr", \.testSR), ("seconds", \.seconds),
                ("images_per_second", \.imagesPerSecond),
            ]
            try group.replace("epoch", metrics.map { Int32($0.epoch) }, shape: [metrics.count], labels: ["epoch"])
            for (name, value) in columns {
                try group.replace(name, metrics.map(value), shape: [metrics.count], labels: ["epoch"])
            }
            if let last = metrics.last {
                try group.setAttribute("final_test_sr", last.testSR)
                let best = metrics.max { $0.testSR < $1.testSR }!
                try group.setAttribute("best_test_sr", best.testSR)
                try group.setAttribute("best_epoch", best.epoch)
                try group.setAttribute("total_seconds", metrics.reduce(0) { $0 + $1.seconds })
            }
        }
    }

    /// Writes one named parameter or statistic under `/weights`: "conv1.bn.weight" becomes `/weights/conv1/bn/weight`.
    public func writeParameter(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) throws(RunStoreError) {
        let root = self.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            var group = try root.group("weights")
            let parts = name.split(separator: ".").map(String.init)
            for part in parts.dropLast() { group = try group.group(part) }
            try group.replace(parts.last!, Array(values), shape: shape, labels: nil)
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        try staged.commit()
    }
}

/// Reads `run.h5`, validating its format and version.
public final class RunFileReader {
    /// The file.
    public let path: String
    let file: H5File
    private let producer = "filterlens train"
    /// Root `format_version`: 1 (phase 2's probes, when probed, under `/probe`: `ProbeSource` reads them) or 2.
    public let formatVersion: Int

    /// Opens and validates `url` (layout version 1 or 2).
    public init(_ url: URL) throws(RunStoreError) {
        path = url.path
        file = try openValidated(url.path, format: RunLayout.runFormat, producer: producer)
        let root = file.root
        formatVersion = try accessing(fix: "re-run `\(producer)` to rewrite it") { () throws(HDF5Error) in
            try root.intAttribute("format_version")
        }
    }

    /// What names this run.h5 in the files made from it (probe.h5's `@run_id`): its root `@run_id`; for a version 1
    /// file, which has none, its `@created`; empty for a file with neither (written by another tool).
    public var identity: String {
        let root = file.root
        for name in ["run_id", "created"] where root.hasAttribute(name) {
            if let value = try? root.stringAttribute(name) { return value }
        }
        return ""
    }

    /// Label names in label order (root attribute `label_names`).
    public func labelNames() throws(RunStoreError) -> [String] {
        let root = file.root
        return try accessing(fix: "the run file lacks /@label_names; see docs/hdf5-layout.md") { () throws(HDF5Error) in
            try root.stringsAttribute("label_names")
        }
    }

    /// The data set's name (root attribute `dataset`), "unknown" when absent.
    public func datasetName() -> String {
        (try? file.root.stringAttribute("dataset")) ?? "unknown"
    }

    /// The configuration, or nil for a file another tool wrote without `/config@json`.
    public func configuration() throws(RunStoreError) -> RunConfiguration? {
        guard file.root.contains("config"), let config = try? file.root.openGroup("config"),
              config.hasAttribute("json"), let json = try? config.stringAttribute("json") else { return nil }
        do {
            return try JSONDecoder().decode(RunConfiguration.self, from: Data(json.utf8))
        } catch {
            throw RunStoreError(path: path, object: "/config@json", problem: "unreadable configuration (\(error))",
                                fix: "re-run `filterlens train`")
        }
    }

    /// Provenance strings (`/provenance` attributes): command line, versions, machine, git commit.
    public func provenance() -> [String: String] {
        guard let group = try? file.root.openGroup("provenance"), let names = try? group.attributeNames() else { return [:] }
        var values: [String: String] = [:]
        for name in names { values[name] = try? group.stringAttribute(name) }
        return values
    }

    /// Phase 1 metrics, empty when the file has no `/training` group.
    public func metrics() throws(RunStoreError) -> [EpochMetrics] {
        guard file.root.contains("training"), let group = try? file.root.openGroup("training") else { return [] }
        let epochs = try openChecked(group, "epoch", file: path, shape: [nil])
        let count = epochs.shape[0]
        func column(_ name: String) throws(RunStoreError) -> [Double] {
            let dataset = try openChecked(group, name, file: path, shape: [count])
            return try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try dataset.read(as: Double.self) }
        }
        let numbers = try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try epochs.read(as: Int32.self) }
        let learningRate = try column("learning_rate"), trainLoss = try column("train_loss"), trainSR = try column("train_sr")
        let testLoss = try column("test_loss"), testSR = try column("test_sr"), seconds = try column("seconds")
        let speed = try column("images_per_second")
        return (0..<count).map {
            EpochMetrics(epoch: Int(numbers[$0]), learningRate: learningRate[$0], trainLoss: trainLoss[$0], trainSR: trainSR[$0],
                         testLoss: testLoss[$0], testSR: testSR[$0], seconds: seconds[$0], imagesPerSecond: speed[$0])
        }
    }

    /// Names of the stored parameters, dotted ("conv1.bn.weight"), sorted.
    public func parameterNames() throws(RunStoreError) -> [String] {
        guard file.root.contains("weights") else { return [] }
        let weights = try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try file.root.openGroup("weights") }
        var names: [String] = []
        func walk(_ group: H5Group, prefix: String) throws(HDF5Error) {
            for member in try group.memberNames() {
                if let child = try? group.openGroup(member) {
                    try walk(child, prefix: prefix + member + ".")
                } else {
                    names.append(prefix + member)
                }
            }
        }
        try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in try walk(weights, prefix: "") }
        return names.sorted()
    }

    /// One parameter by dotted name: its shape and values.
    public func parameter(_ name: String) throws(RunStoreError) -> (shape: [Int], values: [Float]) {
        let path = "weights/" + name.replacingOccurrences(of: ".", with: "/")
        guard file.root.contains(path) else {
            throw RunStoreError(path: self.path, object: "/" + path, problem: "missing dataset", fix: "re-run `filterlens train`")
        }
        let root = file.root
        return try accessing(fix: "re-run `filterlens train`") { () throws(HDF5Error) in
            let dataset = try root.openDataset(path)
            return (dataset.shape, try dataset.read(as: Float.self))
        }
    }
}

extension H5Group {
    /// Writes a whole dataset, replacing one of the same name; names its dimensions when `labels` is given.
    func replace<T: H5Scalar>(_ name: String, _ values: [T], shape: [Int], labels: [String]?) throws(HDF5Error) {
        if contains(name) { try remove(name) }
        let dataset = try write(name, values, shape: shape)
        if let labels { try dataset.setDimensionLabels(labels) }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so stored JSON is stable.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
