import Foundation
import HDF5

/// The state of an interrupted phase 1: written after every epoch to `checkpoint.h5` (atomically), read by `--resume`.
public struct Checkpoint: Sendable {
    /// The run's configuration; a resume must use the same.
    public var configuration: RunConfiguration
    /// Epochs completed.
    public var completedEpochs: Int
    /// Metrics of the completed epochs.
    public var metrics: [EpochMetrics]
    /// Flat state buffers by name ("parameters", "statistics", "velocity").
    public var buffers: [String: [Float]]

    public init(configuration: RunConfiguration, completedEpochs: Int, metrics: [EpochMetrics], buffers: [String: [Float]]) {
        self.configuration = configuration
        self.completedEpochs = completedEpochs
        self.metrics = metrics
        self.buffers = buffers
    }
}

/// Reads and writes `checkpoint.h5`: root attributes `format` = "filterlens-checkpoint", `format_version`,
/// `completed_epochs`, `config_json`, `metrics_json`; one 1-D float32 dataset per state buffer.
public enum CheckpointFile {
    /// Root attribute `format` of a checkpoint.
    public static let format = "filterlens-checkpoint"

    /// Writes a checkpoint atomically to `url`.
    public static func save(_ checkpoint: Checkpoint, to url: URL,
                            buffers: [(name: String, values: UnsafeBufferPointer<Float>)]) throws(RunStoreError) {
        let config = String(decoding: (try? JSONEncoder.sorted.encode(checkpoint.configuration)) ?? Data(), as: UTF8.self)
        let metrics = String(decoding: (try? JSONEncoder.sorted.encode(checkpoint.metrics)) ?? Data(), as: UTF8.self)
        let staged = try StagedFile(creating: url, format: format)
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("completed_epochs", checkpoint.completedEpochs)
            try root.setAttribute("config_json", config)
            try root.setAttribute("metrics_json", metrics)
            for (name, values) in buffers {
                try root.write(name, Array(values), shape: [values.count])
            }
        }
        try staged.commit()
    }

    /// Reads the checkpoint at `url`.
    public static func load(from url: URL) throws(RunStoreError) -> Checkpoint {
        let file = try openValidated(url.path, format: format, producer: "filterlens train")
        let fix = "the checkpoint is damaged: start the run again without --resume"
        let root = file.root
        let (epochs, configJSON, metricsJSON, names) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try root.intAttribute("completed_epochs"), try root.stringAttribute("config_json"),
             try root.stringAttribute("metrics_json"), try root.memberNames())
        }
        var buffers: [String: [Float]] = [:]
        for name in names {
            buffers[name] = try accessing(fix: fix) { () throws(HDF5Error) in try root.openDataset(name).read(as: Float.self) }
        }
        do {
            let configuration = try JSONDecoder().decode(RunConfiguration.self, from: Data(configJSON.utf8))
            let metrics = try JSONDecoder().decode([EpochMetrics].self, from: Data(metricsJSON.utf8))
            return Checkpoint(configuration: configuration, completedEpochs: epochs, metrics: metrics, buffers: buffers)
        } catch {
            throw RunStoreError(path: url.path, object: "/@config_json", problem: "unreadable (\(error))", fix: fix)
        }
    }
}
