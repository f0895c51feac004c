import Foundation
import RunStore

/// A run opened for pruning: its run.h5, its phase 2 probes (probe.h5, or a layout version 1 run.h5's `/probe`),
/// its analysis.h5, checked against each other. Every failure names the file and the command that fixes it.
public struct DissectedRun {
    /// The run folder, and its path as given (the commands in error messages use it).
    public let directory: URL
    public let path: String
    public let run: RunFileReader
    /// Phase 1's recorded recipe.
    public let configuration: RunConfiguration
    public let probes: ProbeSource
    /// Phase 2's recorded recipe: the retraining defaults.
    public let probeRecipe: ProbeConfiguration
    public let analysis: AnalysisFileReader
    /// The layers analysis.h5 holds, 1-based, ascending.
    public let analysedLayers: [Int]
    /// The run's labels, in output order (run.h5 and analysis.h5 agree).
    public let labelNames: [String]

    public var runURL: URL { directory.appendingPathComponent(RunLayout.runFile) }
    public var analysisURL: URL { directory.appendingPathComponent(RunLayout.analysisFile) }

    /// Opens and checks the three files of the run folder at `path`.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path)
        self.directory = directory
        self.path = path
        let runURL = directory.appendingPathComponent(RunLayout.runFile)
        let analysisURL = directory.appendingPathComponent(RunLayout.analysisFile)
        let folder = path
        guard FileManager.default.fileExists(atPath: runURL.path) else {
            throw RunStoreError(path: runURL.path, problem: "file not found",
                                fix: "prune needs a trained, probed and analysed run: `filterlens run --out \(folder)` makes one")
        }
        run = try RunFileReader(runURL)
        guard let configuration = try run.configuration() else {
            throw RunStoreError(path: runURL.path, object: "/config@json", problem: "no training configuration",
                                fix: "prune needs a run trained by `filterlens train`")
        }
        self.configuration = configuration
        probes = try ProbeSource.open(for: run)
        guard let probeRecipe = probes.recipe() else {
            throw RunStoreError(path: probes.path, problem: "no phase 2 recipe",
                                fix: "run `filterlens probe \(folder)` and `filterlens analyze \(folder)` first")
        }
        self.probeRecipe = probeRecipe
        guard FileManager.default.fileExists(atPath: analysisURL.path) else {
            throw RunStoreError(path: analysisURL.path, problem: "file not found",
                                fix: "prune needs the run's clusters: run `filterlens analyze \(folder)` first")
        }
        analysis = try AnalysisFileReader(analysisURL)
        analysedLayers = try analysis.layers()
        labelNames = try run.labelNames()
        guard try analysis.labelNames() == labelNames else {
            throw RunStoreError(path: analysisURL.path, object: "/@label_names", problem: "labels differ from run.h5's",
                                fix: "re-run `filterlens analyze \(folder)`")
        }
    }

    /// The F x L clusters of every layer in `layers`, read from analysis.h5 (`/layers/layerNN/cluster_of_label`).
    public func clusters(of layers: some Sequence<Int>) throws -> [Int: FilterClusters] {
        var clusters: [Int: FilterClusters] = [:]
        for layer in Set(layers).sorted() {
            let group = "/layers/" + RunLayout.layerName(layer)
            guard analysedLayers.contains(layer) else {
                throw RunStoreError(path: analysisURL.path, object: group,
                                    problem: "layer \(layer) was not analysed (analysed: \(analysedLayers.map(String.init).joined(separator: ",")))",
                                    fix: "choose analysed --layers, or re-run `filterlens analyze \(path)`")
            }
            let (filters, labels, values) = try AnalysisFileReader.clusterOfLabel(analysisURL, layer: layer)
            guard labels == labelNames.count, values.count == filters * labels else {
                throw RunStoreError(path: analysisURL.path, object: group + "/cluster_of_label",
                                    problem: "shape \(filters) x \(labels), expected F x \(labelNames.count)",
                                    fix: "re-run `filterlens analyze \(path)`")
            }
            clusters[layer] = FilterClusters(filterCount: filters, labelCount: labels, clusterOfLabel: values)
        }
        return clusters
    }

    /// The default levels when none is given: one level of the last two analysed layers.
    public var defaultLayerSets: [[Int]] { [Array(analysedLayers.suffix(2))] }

    /// One level per layer set, retrained with the run's phase 2 recipe where `overrides` leaves a value nil (the
    /// learning rate per level: the phase 2 rate of its last layer's head; batch size and seed: phase 1's).
    public func levels(_ layerSets: [[Int]], overrides: RetrainOverrides) -> [PruneLevel] {
        layerSets.map { layers in
            PruneLevel(layers: layers, recipe: RetrainRecipe(
                epochs: overrides.epochs, learningRate: overrides.learningRate ?? probeRecipe.startingRate(layer: layers.last!),
                learningRateDecay: overrides.learningRateDecay ?? probeRecipe.learningRateDecay,
                momentum: overrides.momentum ?? probeRecipe.momentum, weightDecay: overrides.weightDecay ?? probeRecipe.weightDecay,
                batchSize: configuration.batchSize, augment: probeRecipe.augment && !overrides.noAugment,
                seed: overrides.seed ?? configuration.seed, shiftFill: configuration.shiftFillUsed))
        }
    }

    /// The identity of the files a prune reads (run.h5, the probes' file, analysis.h5; size and modification time),
    /// recorded in prune-checkpoint.h5's plan so that a checkpoint of changed files is refused.
    public var sourceIdentity: String {
        let probeURL = URL(fileURLWithPath: probes.path)
        let files = probeURL.standardizedFileURL == runURL.standardizedFileURL ? [runURL, analysisURL] : [runURL, probeURL, analysisURL]
        return AnalysisCheckpoint.identity(of: files)
    }
}

/// The retraining settings a user gave; nil: the run's phase 2 value.
public struct RetrainOverrides: Sendable {
    public var epochs: Int
    public var learningRate: Double?
    public var learningRateDecay: Double?
    public var momentum: Double?
    public var weightDecay: Double?
    public var seed: UInt64?
    public var noAugment: Bool

    public init(epochs: Int, learningRate: Double? = nil, learningRateDecay: Double? = nil, momentum: Double? = nil,
                weightDecay: Double? = nil, seed: UInt64? = nil, noAugment: Bool = false) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.seed = seed
        self.noAugment = noAugment
    }
}
