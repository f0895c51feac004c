import Foundation
import HDF5

extension RunLayout {
    /// Root attribute `format` of a pruning file.
    public static let pruneFormat = "filterlens-prune"
    /// The pruning file of a run directory, written by `filterlens prune`.
    public static let pruneFile = "prune.h5"
    /// The finished models of an interrupted `filterlens prune`, for `prune --resume`; removed once prune.h5 is written.
    public static let pruneCheckpointFile = "prune-checkpoint.h5"
}

/// The names and definitions of what `filterlens prune` measures: said once here, written into `prune.h5` and shown
/// by the report.
public enum PruneMeasures {
    /// Test success rate of a pruned (or unpruned) model.
    public static let srDefinition = "test SR of the head of the last pruned layer on the network below it: the fraction of the run's test images (unaugmented, batch norm in inference mode, no test-time augmentation) whose highest head output is their label"
    /// Share of weights kept.
    public static let keptFractionDefinition = "weights kept / weights considered; the weights considered are those of the masked tensors only (the head of the last pruned layer, and the 3x3 kernels of each pruned convolution); pruned fraction = 1 - kept fraction"
    /// Share of the whole network's weights kept.
    public static let networkFractionDefinition = "1 - weights pruned / weights of the network that computes the SR: the 3x3 kernels of convolutions 1 ... l_k and the head of l_k (batch-norm scales and shifts not counted); the frozen layers count as kept"
    /// What AFCC keeps.
    public static let afccDefinition = "applied filter cluster connections [L2]: in the head, filter f keeps its weights only to the labels of its clusters (analysis.h5 cluster_of_label); between consecutive pruned layers, the kernel from filter a of layer l to filter b of layer l+1 is kept only when their cluster label sets share a label"
    /// What happens to a filter with no cluster.
    public static let noClusterRule = "a filter with no cluster (a silent one included) keeps none of its head weights and none of its connections to or from the other pruned layers"
    /// What the control keeps.
    public static let controlDefinition = "random clusters of the same sizes per filter (seeded): in the head each filter keeps exactly as many weights as under AFCC, to random labels; between convolutions, a degree-preserving random rewiring of the AFCC kernel mask (every filter keeps as many input and output connections as under AFCC)"
    /// What retraining trains.
    public static let retrainedDefinition = "for pruned layers l_1 < ... < l_k: the head of l_k and the convolutions l_2 ... l_k (their weights under the mask, batch-norm scale and shift, batch-norm statistics updated in training mode); layers 1 ... l_1 stay frozen in inference mode (with one layer, only its head is retrained); the head stays bias-free; gradients of masked weights are zeroed before every SGD step, and the masked weights and their velocity are set to exactly zero after it"
}

/// One model of a pruning level: the unpruned network, AFCC, or a control seed.
public struct PruneModelRecord: Sendable {
    /// "unpruned", "afcc" or "control-seed<N>".
    public var name: String
    /// The seed of a control's random clusters; nil for the others.
    public var controlSeed: UInt64?
    /// Test SR before and after the retraining (masks held).
    public var srBefore: Double, srAfter: Double
    /// Mean training loss of each retraining epoch.
    public var retrainLoss: [Double]
    /// Wall-clock seconds of the model: building it, both SR measurements and its retraining.
    public var seconds: Double
    /// Per masked tensor (in `PruneLevelRecord.tensors` order): weights kept. The unpruned model keeps all.
    public var kept: [Int]
    /// Per masked tensor: the keep-mask (row-major, `PruneTensor.shape`); empty for the unpruned model.
    public var masks: [[UInt8]]
    /// Per pruned layer: the F x L clusters the masks follow (AFCC: analysis.h5's; control: its random ones), by layer.
    public var clusters: [(layer: Int, filters: Int, clusterOfLabel: [Int32])]

    public init(name: String, controlSeed: UInt64?, srBefore: Double, srAfter: Double, retrainLoss: [Double], seconds: Double,
                kept: [Int], masks: [[UInt8]], clusters: [(layer: Int, filters: Int, clusterOfLabel: [Int32])]) {
        self.name = name
        self.controlSeed = controlSeed
        self.srBefore = srBefore
        self.srAfter = srAfter
        self.retrainLoss = retrainLoss
        self.seconds = seconds
        self.kept = kept
        self.masks = masks
        self.clusters = clusters
    }
}

/// One masked tensor: its name ("layer06_head", "layer06_conv"), mask shape and dimension names, and the weights it
/// holds (a kernel entry stands for 9).
public struct PruneTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var dimensionLabels: [String]
    /// Weights considered: every weight of the tensor.
    public var considered: Int

    public init(name: String, shape: [Int], dimensionLabels: [String], considered: Int) {
        self.name = name
        self.shape = shape
        self.dimensionLabels = dimensionLabels
        self.considered = considered
    }
}

/// One pruning level: a set of consecutive layers pruned, and every model pruned (or not) at it.
public struct PruneLevelRecord: Sendable {
    /// The pruned layers, consecutive and ascending; the head pruned is the last one's.
    public var layers: [Int]
    /// The level's own attributes (name, number): `retrain_learning_rate`, `probe_final_test_sr`.
    public var numbers: [(String, Double)]
    /// Weights of the network that computes the level's SR (`PruneMeasures.networkFractionDefinition`).
    public var networkWeights: Int
    public var tensors: [PruneTensor]
    public var models: [PruneModelRecord]

    public init(layers: [Int], numbers: [(String, Double)], networkWeights: Int, tensors: [PruneTensor],
                models: [PruneModelRecord]) {
        self.layers = layers
        self.numbers = numbers
        self.networkWeights = networkWeights
        self.tensors = tensors
        self.models = models
    }

    /// Weights of all masked tensors.
    public var consideredWeights: Int { tensors.reduce(0) { $0 + $1.considered } }

    /// Kept fraction of `model` over the masked tensors (`PruneMeasures.keptFractionDefinition`).
    public func keptFraction(_ model: PruneModelRecord) -> Double {
        consideredWeights > 0 ? Double(model.kept.reduce(0, +)) / Double(consideredWeights) : .nan
    }

    /// Kept fraction of `model` over the whole network (`PruneMeasures.networkFractionDefinition`).
    public func networkKeptFraction(_ model: PruneModelRecord) -> Double {
        networkWeights > 0 ? 1 - Double(consideredWeights - model.kept.reduce(0, +)) / Double(networkWeights) : .nan
    }
}

/// Everything `prune.h5` holds.
public struct PruneFileRecord: Sendable {
    public var labelNames: [String]
    /// Root attributes: retraining recipe shared by the levels, sizes, time (name, number).
    public var numbers: [(String, Double)]
    /// Root attributes: texts (name, value).
    public var texts: [(String, String)]
    /// The levels, in the order they were asked for.
    public var levels: [PruneLevelRecord]

    public init(labelNames: [String], numbers: [(String, Double)], texts: [(String, String)], levels: [PruneLevelRecord]) {
        self.labelNames = labelNames
        self.numbers = numbers
        self.texts = texts
        self.levels = levels
    }

    /// The group name of level `index` (0-based): "level01", "level02", ...
    public static func levelName(_ index: Int) -> String { String(format: "level%02d", index + 1) }
}

/// Writes `prune.h5` (temporary name, renamed into place). The prune command writes only this file and its checkpoint.
public enum PruneFileWriter {
    public static func write(_ record: PruneFileRecord, to url: URL) throws(RunStoreError) {
        let staged = try StagedFile(creating: url, format: RunLayout.pruneFormat)
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("label_names", record.labelNames)
            try root.setAttribute("source_run", RunLayout.runFile)
            try root.setAttribute("source_analysis", RunLayout.analysisFile)
            try root.setAttribute("sr_definition", PruneMeasures.srDefinition)
            try root.setAttribute("kept_fraction_definition", PruneMeasures.keptFractionDefinition)
            try root.setAttribute("network_fraction_definition", PruneMeasures.networkFractionDefinition)
            try root.setAttribute("afcc_definition", PruneMeasures.afccDefinition)
            try root.setAttribute("no_cluster_rule", PruneMeasures.noClusterRule)
            try root.setAttribute("control_definition", PruneMeasures.controlDefinition)
            try root.setAttribute("retrained", PruneMeasures.retrainedDefinition)
            for (name, value) in record.texts { try root.setAttribute(name, value) }
            for (name, value) in record.numbers { try root.setAttribute(name, value) }
            try root.setAttribute("levels", record.levels.indices.map(PruneFileRecord.levelName))
            let levels = try root.createGroup("levels")
            for (index, level) in record.levels.enumerated() {
                try write(level, into: try levels.createGroup(PruneFileRecord.levelName(index)), labelCount: record.labelNames.count)
            }
        }
        try staged.commit()
    }

    /// One level's attributes, `results/` and `models/` into `group` (the layout a single-level file has at its root).
    private static func write(_ level: PruneLevelRecord, into group: H5Group, labelCount: Int) throws(HDF5Error) {
        try group.setAttribute("layers", level.layers)
        try group.setAttribute("head_layer", level.layers.last ?? 0)
        try group.setAttribute("models", level.models.map(\.name))
        try group.setAttribute("tensors", level.tensors.map(\.name))
        try group.setAttribute("network_weights", level.networkWeights)
        try group.setAttribute("seconds", level.models.reduce(0) { $0 + $1.seconds })
        for (name, value) in level.numbers { try group.setAttribute(name, value) }
        let (m, t) = (level.models.count, level.tensors.count)
        let results = try group.createGroup("results")
        try results.write("sr_before", level.models.map(\.srBefore), shape: [m]).setDimensionLabels(["model"])
        try results.write("sr_after", level.models.map(\.srAfter), shape: [m]).setDimensionLabels(["model"])
        try results.write("control_seed", level.models.map { $0.controlSeed.map(Int64.init) ?? -1 }, shape: [m])
            .setDimensionLabels(["model"])
        try results.write("kept_fraction", level.models.map(level.keptFraction), shape: [m]).setDimensionLabels(["model"])
        try results.write("network_kept_fraction", level.models.map(level.networkKeptFraction), shape: [m])
            .setDimensionLabels(["model"])
        try results.write("seconds", level.models.map(\.seconds), shape: [m]).setDimensionLabels(["model"])
        try results.write("considered", level.tensors.map { Int64($0.considered) }, shape: [t]).setDimensionLabels(["tensor"])
        try results.write("kept", level.models.flatMap { $0.kept.map(Int64.init) }, shape: [m, t])
            .setDimensionLabels(["model", "tensor"])
        let perTensor = level.models.flatMap { model in
            zip(model.kept, level.tensors).map { Double($0) / Double(max($1.considered, 1)) }
        }
        try results.write("kept_fraction_per_tensor", perTensor, shape: [m, t]).setDimensionLabels(["model", "tensor"])
        let epochs = level.models.map(\.retrainLoss.count).max() ?? 0
        let losses = level.models.flatMap { $0.retrainLoss + [Double](repeating: .nan, count: epochs - $0.retrainLoss.count) }
        try results.write("retrain_loss", losses, shape: [m, epochs]).setDimensionLabels(["model", "epoch"])
        let models = try group.createGroup("models")
        for model in level.models where !model.masks.isEmpty {
            let modelGroup = try models.createGroup(model.name)
            for (tensor, mask) in zip(level.tensors, model.masks) {
                try modelGroup.write(tensor.name, mask, shape: tensor.shape, chunk: tensor.shape, compression: 4)
                    .setDimensionLabels(tensor.dimensionLabels)
            }
            for entry in model.clusters {
                try modelGroup.write(RunLayout.layerName(entry.layer) + "_cluster_of_label", entry.clusterOfLabel,
                                     shape: [entry.filters, labelCount]).setDimensionLabels(["filter", "label"])
            }
        }
    }
}

/// The numbers of one level of `prune.h5` that a report shows (masks are not read).
public struct PruneLevelSummary: Sendable {
    public var layers: [Int]
    public var models: [String]
    public var controlSeeds: [Int64]
    public var srBefore: [Double], srAfter: [Double], keptFraction: [Double]
    /// Kept fraction of the whole network per model; NaN in a single-level file made before levels existed.
    public var networkKeptFraction: [Double]
    /// Seconds per model; NaN in a single-level file made before levels existed.
    public var seconds: [Double]
    public var tensors: [String]
    /// Models x tensors.
    public var keptFractionPerTensor: [[Double]]
    /// The level's attributes as text (`retrain_learning_rate`, `probe_final_test_sr`, ...), by name; in a
    /// single-level file, the root's.
    public var attributes: [String: String]

    /// Row of model `name`, nil when absent.
    public func index(of name: String) -> Int? { models.firstIndex(of: name) }
    /// Rows of the controls.
    public var controlRows: [Int] { models.indices.filter { controlSeeds[$0] >= 0 } }
}

/// The numbers of `prune.h5` that a report shows.
public struct PruneSummary: Sendable {
    /// The levels in file order; one for a single-level file.
    public var levels: [PruneLevelSummary]
    /// Root attributes as text (definitions, shared recipe, provenance), by name.
    public var attributes: [String: String]
}

/// Reads `prune.h5`: the levels under `/levels`, or a single-level file (made before levels existed: the level's
/// attributes, `/results` and `/models` at the root) as one level.
public enum PruneFileReader {
    static let fix = "re-run `filterlens prune`"

    public static func read(_ url: URL) throws(RunStoreError) -> PruneSummary {
        let file = try openValidated(url.path, format: RunLayout.pruneFormat, producer: "filterlens prune")
        let root = file.root
        let attributes = textAttributes(of: root)
        guard root.contains("levels") else { return PruneSummary(levels: [try readLevel(root, url: url)], attributes: attributes) }
        let names = try accessing(fix: fix) { () throws(HDF5Error) in try root.stringsAttribute("levels") }
        var levels: [PruneLevelSummary] = []
        for name in names {
            guard let group = try? root.openGroup("levels/" + name) else {
                throw RunStoreError(path: url.path, object: "/levels/" + name, problem: "missing group", fix: fix)
            }
            levels.append(try readLevel(group, url: url))
        }
        return PruneSummary(levels: levels, attributes: attributes)
    }

    /// A level's attributes and `results/` from `group` (a level group, or the root of a single-level file).
    private static func readLevel(_ group: H5Group, url: URL) throws(RunStoreError) -> PruneLevelSummary {
        let (layers, models, tensors) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try group.intsAttribute("layers"), try group.stringsAttribute("models"), try group.stringsAttribute("tensors"))
        }
        let prefix = group.name == "/" ? "" : group.name
        guard group.contains("results"), let results = try? group.openGroup("results") else {
            throw RunStoreError(path: url.path, object: prefix + "/results", problem: "missing group", fix: fix)
        }
        let (m, t) = (models.count, tensors.count)
        let sets = try [("sr_before", [m]), ("sr_after", [m]), ("kept_fraction", [m]), ("control_seed", [m]),
                        ("kept_fraction_per_tensor", [m, t])].map { (entry) throws(RunStoreError) in
            try openChecked(results, entry.0, file: url.path, shape: entry.1)
        }
        let values = try accessing(fix: fix) { () throws(HDF5Error) in
            (try sets[0].read(as: Double.self), try sets[1].read(as: Double.self), try sets[2].read(as: Double.self),
             try sets[3].read(as: Int64.self), try sets[4].read(as: Double.self))
        }
        /// A per-model column that single-level files made before levels existed lack (NaN there).
        func optional(_ name: String) throws(RunStoreError) -> [Double] {
            guard results.contains(name) else { return [Double](repeating: .nan, count: m) }
            let dataset = try openChecked(results, name, file: url.path, shape: [m])
            return try accessing(fix: fix) { () throws(HDF5Error) in try dataset.read(as: Double.self) }
        }
        return PruneLevelSummary(layers: layers, models: models, controlSeeds: values.3, srBefore: values.0, srAfter: values.1,
                                 keptFraction: values.2, networkKeptFraction: try optional("network_kept_fraction"),
                                 seconds: try optional("seconds"), tensors: tensors,
                                 keptFractionPerTensor: (0..<m).map { Array(values.4[($0 * t)..<(($0 + 1) * t)]) },
                                 attributes: textAttributes(of: group))
    }

    /// Every text or number attribute of `group`, as text (numbers "%g").
    private static func textAttributes(of group: H5Group) -> [String: String] {
        var attributes: [String: String] = [:]
        for name in (try? group.attributeNames()) ?? [] {
            if let text = try? group.stringAttribute(name) { attributes[name] = text }
            else if let number = try? group.doubleAttribute(name) { attributes[name] = String(format: "%g", number) }
        }
        return attributes
    }
}

/// One model finished by an interrupted `filterlens prune`: what `prune --resume` takes instead of measuring it again
/// (its masks follow again from the clusters and seeds).
public struct PruneModelOutcome: Sendable, Equatable {
    /// Level index, 0-based, in the order of the command's `--layers`.
    public var level: Int
    public var name: String
    public var srBefore: Double, srAfter: Double
    public var retrainLoss: [Double]
    public var seconds: Double

    public init(level: Int, name: String, srBefore: Double, srAfter: Double, retrainLoss: [Double], seconds: Double) {
        self.level = level
        self.name = name
        self.srBefore = srBefore
        self.srAfter = srAfter
        self.retrainLoss = retrainLoss
        self.seconds = seconds
    }
}

/// The model an interrupted `filterlens prune` was retraining, inside an epoch: what `prune --resume` continues from,
/// to the numbers an uninterrupted prune gives, bit for bit.
public struct PruneModelInProgress: Sendable, Equatable {
    /// Where the retraining stands, without the state buffers (stored as JSON in the checkpoint).
    public struct Position: Codable, Sendable, Equatable {
        /// Level index, 0-based, and the model's name.
        public var level: Int
        public var name: String
        /// SR before retraining, measured before the interruption.
        public var srBefore: Double
        /// Mean training loss of each retraining epoch finished.
        public var retrainLoss: [Double]
        /// The place inside the epoch in progress.
        public var cursor: EpochCursor
        /// Seconds spent on the model before the interruption.
        public var seconds: Double

        public init(level: Int, name: String, srBefore: Double, retrainLoss: [Double], cursor: EpochCursor, seconds: Double) {
            self.level = level
            self.name = name
            self.srBefore = srBefore
            self.retrainLoss = retrainLoss
            self.cursor = cursor
            self.seconds = seconds
        }
    }

    public var position: Position
    /// The model's state by name ("parameters", "velocity", "statistics"): flat float32 buffers.
    public var buffers: [String: [Float]]

    public init(position: Position, buffers: [String: [Float]]) {
        self.position = position
        self.buffers = buffers
    }
}

/// `prune-checkpoint.h5`, written after every finished model, every few minutes inside a model's retraining and on
/// Ctrl-C, and removed once prune.h5 is written: root attributes `format` = "filterlens-prune-checkpoint",
/// `format_version`, `plan` (text: levels, seeds, recipes and the identity of run.h5 and analysis.h5; a checkpoint of
/// another plan is not resumed), `models` (string[n]); datasets `level` int64 [n] (0-based), `sr_before`, `sr_after`,
/// `seconds` float64 [n], `retrain_loss` float64 [n, epochs]. With a model in progress, also the root attribute
/// `in_progress_json` (`PruneModelInProgress.Position`) and one float32 1-D dataset `in_progress_<buffer>` per state
/// buffer (checkpoints written before this existed have neither and resume from their finished models).
public enum PruneCheckpointFile {
    /// Root attribute `format` of a prune checkpoint.
    public static let format = "filterlens-prune-checkpoint"
    /// Prefix of the state buffers of the model in progress.
    static let inProgressPrefix = "in_progress_"

    /// Writes the checkpoint atomically to `url`: the finished models and, inside a retraining, the model in progress.
    public static func save(plan: String, models: [PruneModelOutcome], inProgress: PruneModelInProgress? = nil,
                            to url: URL) throws(RunStoreError) {
        let staged = try StagedFile(creating: url, format: format)
        let root = staged.root
        let n = models.count
        let epochs = models.first?.retrainLoss.count ?? 0
        precondition(models.allSatisfy { $0.retrainLoss.count == epochs }, "every model of a plan retrains the same epochs")
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("plan", plan)
            try root.setAttribute("models", models.map(\.name))
            _ = try root.write("level", models.map { Int64($0.level) }, shape: [n])
            _ = try root.write("sr_before", models.map(\.srBefore), shape: [n])
            _ = try root.write("sr_after", models.map(\.srAfter), shape: [n])
            _ = try root.write("seconds", models.map(\.seconds), shape: [n])
            _ = try root.write("retrain_loss", models.flatMap(\.retrainLoss), shape: [n, epochs])
            if let inProgress {
                try root.setAttribute("in_progress_json", StateFile.json(inProgress.position))
                for (name, values) in inProgress.buffers.sorted(by: { $0.key < $1.key }) {
                    _ = try root.write(inProgressPrefix + name, values, shape: [values.count])
                }
            }
        }
        try staged.commit()
    }

    /// Reads the checkpoint at `url`: its plan, finished models and the model in progress, if any.
    public static func load(from url: URL) throws(RunStoreError)
        -> (plan: String, models: [PruneModelOutcome], inProgress: PruneModelInProgress?)
    {
        let fix = "the prune checkpoint is damaged: delete it and run `filterlens prune` again without --resume"
        let file = try openValidated(url.path, format: format, producer: "filterlens prune")
        let root = file.root
        let (plan, names) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try root.stringAttribute("plan"), try root.stringsAttribute("models"))
        }
        let n = names.count
        let sets = try [("level", [n]), ("sr_before", [n]), ("sr_after", [n]), ("seconds", [n]), ("retrain_loss", [n, nil])]
            .map { (entry: (String, [Int?])) throws(RunStoreError) in try openChecked(root, entry.0, file: url.path, shape: entry.1) }
        let epochs = sets[4].shape[1]
        let (levels, before, after, seconds, losses) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try sets[0].read(as: Int64.self), try sets[1].read(as: Double.self), try sets[2].read(as: Double.self),
             try sets[3].read(as: Double.self), try sets[4].read(as: Double.self))
        }
        let models = (0..<n).map { i in
            PruneModelOutcome(level: Int(levels[i]), name: names[i], srBefore: before[i], srAfter: after[i],
                              retrainLoss: Array(losses[(i * epochs)..<((i + 1) * epochs)]), seconds: seconds[i])
        }
        guard root.hasAttribute("in_progress_json") else { return (plan, models, nil) }
        let (json, bufferNames) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try root.stringAttribute("in_progress_json"),
             try root.memberNames().filter { $0.hasPrefix(inProgressPrefix) })
        }
        guard let position = try? JSONDecoder().decode(PruneModelInProgress.Position.self, from: Data(json.utf8)) else {
            throw RunStoreError(path: url.path, object: "in_progress_json", problem: "is not a model in progress", fix: fix)
        }
        var buffers: [String: [Float]] = [:]
        for name in bufferNames {
            let dataset = try openChecked(root, name, file: url.path, shape: [nil])
            buffers[String(name.dropFirst(inProgressPrefix.count))] = try accessing(fix: fix) { () throws(HDF5Error) in
                try dataset.read(as: Float.self)
            }
        }
        return (plan, models, PruneModelInProgress(position: position, buffers: buffers))
    }
}

extension AnalysisFileReader {
    /// Layer `layer`'s clusters: `/layers/layerNN/cluster_of_label` (F x L, -1 = no cluster).
    public static func clusterOfLabel(_ url: URL, layer: Int) throws(RunStoreError) -> (filters: Int, labels: Int, values: [Int32]) {
        let file = try openValidated(url.path, format: RunLayout.analysisFormat, versions: RunLayout.analysisReadableVersions,
                                     producer: "filterlens analyze")
        let name = "layers/" + RunLayout.layerName(layer)
        guard file.root.contains(name), let group = try? file.root.openGroup(name) else {
            throw RunStoreError(path: url.path, object: "/" + name, problem: "layer \(layer) was not analysed",
                                fix: "run `filterlens analyze` on the run, or choose analysed --layers")
        }
        let dataset = try openChecked(group, "cluster_of_label", file: url.path, shape: [nil, nil])
        let values = try accessing(fix: "re-run `filterlens analyze`") { () throws(HDF5Error) in try dataset.read(as: Int32.self) }
        return (dataset.shape[0], dataset.shape[1], values)
    }
}
