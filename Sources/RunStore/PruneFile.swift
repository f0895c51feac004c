import Foundation
import HDF5

extension RunLayout {
    /// Root attribute `format` of a pruning file.
    public static let pruneFormat = "filterlens-prune"
    /// The pruning file of a run directory, written by `filterlens prune`.
    public static let pruneFile = "prune.h5"
}

/// The names and definitions of what `filterlens prune` measures: said once here, written into `prune.h5` and shown
/// by the report.
public enum PruneMeasures {
    /// Test success rate of a pruned (or unpruned) model.
    public static let srDefinition = "test SR of the head of the last pruned layer on the network below it: the fraction of the run's test images (unaugmented, batch norm in inference mode, no test-time augmentation) whose highest head output is their label"
    /// Share of weights kept.
    public static let keptFractionDefinition = "weights kept / weights considered; the weights considered are those of the masked tensors only (the head of the last pruned layer, and the 3x3 kernels of each pruned convolution); pruned fraction = 1 - kept fraction"
    /// What AFCC keeps.
    public static let afccDefinition = "applied filter cluster connections [L2]: in the head, filter f keeps its weights only to the labels of its clusters (analysis.h5 cluster_of_label); between consecutive pruned layers, the kernel from filter a of layer l to filter b of layer l+1 is kept only when their cluster label sets share a label"
    /// What happens to a filter with no cluster.
    public static let noClusterRule = "a filter with no cluster (a silent one included) keeps none of its head weights and none of its connections to or from the other pruned layers"
    /// What the control keeps.
    public static let controlDefinition = "random clusters of the same sizes per filter (seeded): in the head each filter keeps exactly as many weights as under AFCC, to random labels; between convolutions, a degree-preserving random rewiring of the AFCC kernel mask (every filter keeps as many input and output connections as under AFCC)"
    /// What retraining trains.
    public static let retrainedDefinition = "for pruned layers l_1 < ... < l_k: the head of l_k and the convolutions l_2 ... l_k (their weights under the mask, batch-norm scale and shift, batch-norm statistics updated in training mode); layers 1 ... l_1 stay frozen in inference mode (with one layer, only its head is retrained); the head stays bias-free; gradients of masked weights are zeroed before every SGD step, and the masked weights and their velocity are set to exactly zero after it"
}

/// One model of a pruning experiment: the unpruned network, AFCC, or a control seed.
public struct PruneModelRecord: Sendable {
    /// "unpruned", "afcc" or "control-seed<N>".
    public var name: String
    /// The seed of a control's random clusters; nil for the others.
    public var controlSeed: UInt64?
    /// Test SR before and after the retraining (masks held).
    public var srBefore: Double, srAfter: Double
    /// Mean training loss of each retraining epoch.
    public var retrainLoss: [Double]
    /// Per masked tensor (in `PruneFileRecord.tensors` order): weights kept. The unpruned model keeps all.
    public var kept: [Int]
    /// Per masked tensor: the keep-mask (row-major, `PruneTensor.shape`); empty for the unpruned model.
    public var masks: [[UInt8]]
    /// Per pruned layer: the F x L clusters the masks follow (AFCC: analysis.h5's; control: its random ones), by layer.
    public var clusters: [(layer: Int, filters: Int, clusterOfLabel: [Int32])]

    public init(name: String, controlSeed: UInt64?, srBefore: Double, srAfter: Double, retrainLoss: [Double], kept: [Int],
                masks: [[UInt8]], clusters: [(layer: Int, filters: Int, clusterOfLabel: [Int32])]) {
        self.name = name
        self.controlSeed = controlSeed
        self.srBefore = srBefore
        self.srAfter = srAfter
        self.retrainLoss = retrainLoss
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

/// Everything `prune.h5` holds.
public struct PruneFileRecord: Sendable {
    public var labelNames: [String]
    /// The pruned layers, consecutive and ascending; the head pruned is the last one's.
    public var layers: [Int]
    /// Root attributes: retraining recipe and sizes (name, number).
    public var numbers: [(String, Double)]
    /// Root attributes: texts (name, value).
    public var texts: [(String, String)]
    public var tensors: [PruneTensor]
    public var models: [PruneModelRecord]

    public init(labelNames: [String], layers: [Int], numbers: [(String, Double)], texts: [(String, String)],
                tensors: [PruneTensor], models: [PruneModelRecord]) {
        self.labelNames = labelNames
        self.layers = layers
        self.numbers = numbers
        self.texts = texts
        self.tensors = tensors
        self.models = models
    }

    /// Kept fraction of every model over all masked tensors (`PruneMeasures.keptFractionDefinition`).
    public func keptFraction(_ model: PruneModelRecord) -> Double {
        let considered = tensors.reduce(0) { $0 + $1.considered }
        return considered > 0 ? Double(model.kept.reduce(0, +)) / Double(considered) : .nan
    }
}

/// Writes `prune.h5` (temporary name, renamed into place). The prune phase writes only this file.
public enum PruneFileWriter {
    public static func write(_ record: PruneFileRecord, to url: URL) throws(RunStoreError) {
        let staged = try StagedFile(creating: url, format: RunLayout.pruneFormat)
        let root = staged.root
        try accessing(fix: StagedFile.fix) { () throws(HDF5Error) in
            try root.setAttribute("label_names", record.labelNames)
            try root.setAttribute("source_run", RunLayout.runFile)
            try root.setAttribute("source_analysis", RunLayout.analysisFile)
            try root.setAttribute("layers", record.layers)
            try root.setAttribute("head_layer", record.layers.last ?? 0)
            try root.setAttribute("sr_definition", PruneMeasures.srDefinition)
            try root.setAttribute("kept_fraction_definition", PruneMeasures.keptFractionDefinition)
            try root.setAttribute("afcc_definition", PruneMeasures.afccDefinition)
            try root.setAttribute("no_cluster_rule", PruneMeasures.noClusterRule)
            try root.setAttribute("control_definition", PruneMeasures.controlDefinition)
            try root.setAttribute("retrained", PruneMeasures.retrainedDefinition)
            for (name, value) in record.texts { try root.setAttribute(name, value) }
            for (name, value) in record.numbers { try root.setAttribute(name, value) }
            try root.setAttribute("models", record.models.map(\.name))
            try root.setAttribute("tensors", record.tensors.map(\.name))
            let (m, t) = (record.models.count, record.tensors.count)
            let results = try root.createGroup("results")
            try results.write("sr_before", record.models.map(\.srBefore), shape: [m]).setDimensionLabels(["model"])
            try results.write("sr_after", record.models.map(\.srAfter), shape: [m]).setDimensionLabels(["model"])
            try results.write("control_seed", record.models.map { $0.controlSeed.map(Int64.init) ?? -1 }, shape: [m])
                .setDimensionLabels(["model"])
            try results.write("kept_fraction", record.models.map(record.keptFraction), shape: [m]).setDimensionLabels(["model"])
            try results.write("considered", record.tensors.map { Int64($0.considered) }, shape: [t]).setDimensionLabels(["tensor"])
            try results.write("kept", record.models.flatMap { $0.kept.map(Int64.init) }, shape: [m, t])
                .setDimensionLabels(["model", "tensor"])
            let perTensor = record.models.flatMap { model in
                zip(model.kept, record.tensors).map { Double($0) / Double(max($1.considered, 1)) }
            }
            try results.write("kept_fraction_per_tensor", perTensor, shape: [m, t]).setDimensionLabels(["model", "tensor"])
            let epochs = record.models.map(\.retrainLoss.count).max() ?? 0
            let losses = record.models.flatMap { $0.retrainLoss + [Double](repeating: .nan, count: epochs - $0.retrainLoss.count) }
            try results.write("retrain_loss", losses, shape: [m, epochs]).setDimensionLabels(["model", "epoch"])
            let models = try root.createGroup("models")
            for model in record.models where !model.masks.isEmpty {
                let group = try models.createGroup(model.name)
                for (tensor, mask) in zip(record.tensors, model.masks) {
                    try group.write(tensor.name, mask, shape: tensor.shape, chunk: tensor.shape, compression: 4)
                        .setDimensionLabels(tensor.dimensionLabels)
                }
                for entry in model.clusters {
                    try group.write(RunLayout.layerName(entry.layer) + "_cluster_of_label", entry.clusterOfLabel,
                                    shape: [entry.filters, record.labelNames.count]).setDimensionLabels(["filter", "label"])
                }
            }
        }
        try staged.commit()
    }
}

/// The numbers of `prune.h5` that a report shows (masks are not read).
public struct PruneSummary: Sendable {
    public var layers: [Int]
    public var models: [String]
    public var controlSeeds: [Int64]
    public var srBefore: [Double], srAfter: [Double], keptFraction: [Double]
    public var tensors: [String]
    /// Models x tensors.
    public var keptFractionPerTensor: [[Double]]
    /// Root attributes as text (definitions, recipe), by name.
    public var attributes: [String: String]

    /// Row of model `name`, nil when absent.
    public func index(of name: String) -> Int? { models.firstIndex(of: name) }
    /// Rows of the controls.
    public var controlRows: [Int] { models.indices.filter { controlSeeds[$0] >= 0 } }
}

/// Reads `prune.h5`.
public enum PruneFileReader {
    public static func read(_ url: URL) throws(RunStoreError) -> PruneSummary {
        let file = try openValidated(url.path, format: RunLayout.pruneFormat, producer: "filterlens prune")
        let fix = "re-run `filterlens prune`"
        let root = file.root
        let (layers, models, tensors) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try root.intsAttribute("layers"), try root.stringsAttribute("models"), try root.stringsAttribute("tensors"))
        }
        guard root.contains("results"), let results = try? root.openGroup("results") else {
            throw RunStoreError(path: url.path, object: "/results", problem: "missing group", fix: fix)
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
        var attributes: [String: String] = [:]
        for name in (try? root.attributeNames()) ?? [] {
            if let text = try? root.stringAttribute(name) { attributes[name] = text }
            else if let number = try? root.doubleAttribute(name) { attributes[name] = String(format: "%g", number) }
        }
        return PruneSummary(layers: layers, models: models, controlSeeds: values.3, srBefore: values.0, srAfter: values.1,
                            keptFraction: values.2, tensors: tensors,
                            keptFractionPerTensor: (0..<m).map { Array(values.4[($0 * t)..<(($0 + 1) * t)]) },
                            attributes: attributes)
    }
}

extension AnalysisFileReader {
    /// Layer `layer`'s clusters: `/layers/layerNN/cluster_of_label` (F x L, -1 = no cluster).
    public static func clusterOfLabel(_ url: URL, layer: Int) throws(RunStoreError) -> (filters: Int, labels: Int, values: [Int32]) {
        let file = try openValidated(url.path, format: RunLayout.analysisFormat, producer: "filterlens analyze")
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
