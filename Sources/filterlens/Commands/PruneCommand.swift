import ArgumentParser
import Engine
import Pipeline
import Foundation
import Pruning
import RunStore

/// `filterlens prune`: cluster-based pruning (AFCC, [L2]) against its random control.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Prune by phase 3's clusters (AFCC, arXiv 2501.12880) and by random clusters of the same sizes; retrain shortly; writes prune.h5.",
        discussion: """
        From a dissected run (run.h5, probe.h5, analysis.h5), for consecutive layers l_1 < ... < l_k (--layers): \
        in the phase 2 probe (head) of l_k, filter f keeps its weights only to the labels of its clusters; between layers l and l+1, the \
        3x3 kernel from filter a to filter b is kept only when their cluster label sets share a label. A filter with no \
        cluster keeps nothing.

        Control (one per --control-seeds entry): random clusters of the same sizes for the head, a degree-preserving \
        rewiring of the kernel masks; every filter keeps as many connections as under AFCC.

        Retrained: the head and convolutions l_2 ... l_k (layers 1 ... l_1 frozen), masked weights held at exactly zero. \
        SR: the head's test SR (no test-time augmentation). The unpruned network is measured before and after the same \
        retraining. Writes only RUN/prune.h5 (docs/hdf5-layout.md); `filterlens report RUN` then adds the figure and a \
        section to report.html. See docs/pruning.md.
        """)

    @Argument(help: "Run directory, probed and analysed (run.h5, probe.h5, analysis.h5).")
    var runDirectory: String

    @Option(help: "Consecutive layers to prune, comma-separated (default: the last two; one layer prunes its head only).")
    var layers: String?

    @Option(name: .customLong("retrain-epochs"), help: "Epochs of retraining with the masks held (0: measure before retraining only).")
    var retrainEpochs = 2

    @Option(name: .customLong("control-seeds"), help: "Seeds of the random-cluster controls, comma-separated.")
    var controlSeeds = "1,2,3"

    @Option(name: .customLong("retrain-lr"), help: "Starting learning rate of retraining (default: the phase 2 rate of the last pruned layer's head).")
    var learningRate: Double?

    @Option(name: .customLong("retrain-lr-decay"), help: "Learning-rate factor per epoch (default: the run's phase 2 factor).")
    var learningRateDecay: Double?

    @Option(name: .customLong("retrain-momentum"), help: "Nesterov momentum (default: the run's phase 2 momentum).")
    var momentum: Double?

    @Option(name: .customLong("retrain-weight-decay"), help: "L2 weight decay (default: the run's phase 2 weight decay).")
    var weightDecay: Double?

    @Option(help: "Seed of the retraining batch order and augmentation, the same for every model (default: the run's seed).")
    var seed: UInt64?

    @Flag(name: .customLong("no-augment"), help: "Retrain without flip and shift augmentation (default: as phase 2).")
    var noAugment = false

    func validate() throws {
        guard retrainEpochs >= 0 else { throw ValidationError("--retrain-epochs must be >= 0") }
        _ = try parsedLayers()
        _ = try parsedSeeds()
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--retrain-lr must be positive") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--retrain-momentum must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0) { throw ValidationError("--retrain-weight-decay must be >= 0") }
    }

    func parsedLayers() throws -> [Int]? {
        guard let layers else { return nil }
        let values = layers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--layers \"\(layers)\": give layer numbers, e.g. --layers 5,6")
        }
        return values.map { $0! }
    }

    func parsedSeeds() throws -> [UInt64] {
        let values = controlSeeds.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0 != nil }), Set(values).count == values.count else {
            throw ValidationError("--control-seeds \"\(controlSeeds)\": give distinct non-negative integers, e.g. 1,2,3")
        }
        return values.map { $0! }
    }

    func run() throws {
        try reportingFailures { try PruneWiring.run(self) }
    }
}

/// Prune wiring: read the run, build the masks, measure every model, write prune.h5.
enum PruneWiring {
    static func run(_ command: PruneCommand) throws {
        let started = Date()
        let directory = URL(fileURLWithPath: command.runDirectory)
        let runURL = directory.appendingPathComponent(RunLayout.runFile)
        let analysisURL = directory.appendingPathComponent(RunLayout.analysisFile)
        let run = command.runDirectory
        guard FileManager.default.fileExists(atPath: runURL.path) else {
            throw UsageError("\(runURL.path): file not found; prune needs a trained, probed and analysed run: `filterlens run --out \(run)` makes one")
        }
        let reader = try RunFileReader(runURL)
        guard let configuration = try reader.configuration() else {
            throw RunStoreError(path: runURL.path, object: "/config@json", problem: "no training configuration",
                                fix: "prune needs a run trained by `filterlens train`")
        }
        let probes = try ProbeSource.open(for: reader)
        guard let probe = probes.recipe() else {
            throw RunStoreError(path: probes.path, problem: "no phase 2 recipe",
                                fix: "run `filterlens probe \(run)` and `filterlens analyze \(run)` first")
        }
        guard FileManager.default.fileExists(atPath: analysisURL.path) else {
            throw UsageError("\(analysisURL.path): file not found; prune needs the run's clusters: run `filterlens analyze \(run)` first")
        }
        let analysis = try AnalysisFileReader(analysisURL)
        let analysed = try analysis.layers()
        let labelNames = try reader.labelNames()
        guard try analysis.labelNames() == labelNames else {
            throw RunStoreError(path: analysisURL.path, object: "/@label_names", problem: "labels differ from run.h5's",
                                fix: "re-run `filterlens analyze \(command.runDirectory)`")
        }
        let layers = try command.parsedLayers() ?? Array(analysed.suffix(2))
        for layer in layers where !analysed.contains(layer) {
            throw RunStoreError(path: analysisURL.path, object: "/layers/" + RunLayout.layerName(layer),
                                problem: "layer \(layer) was not analysed (analysed: \(analysed.map(String.init).joined(separator: ",")))",
                                fix: "choose analysed --layers, or re-run `filterlens analyze \(command.runDirectory)`")
        }
        let recipe = RetrainRecipe(epochs: command.retrainEpochs, learningRate: command.learningRate ?? probe.startingRate(layer: layers.last!),
                                   learningRateDecay: command.learningRateDecay ?? probe.learningRateDecay,
                                   momentum: command.momentum ?? probe.momentum,
                                   weightDecay: command.weightDecay ?? probe.weightDecay,
                                   batchSize: configuration.batchSize, augment: probe.augment && !command.noAugment,
                                   seed: command.seed ?? configuration.seed)
        let network = try PrunableNetwork(run: reader, probes: probes, configuration: configuration, layers: layers,
                                          batchSize: recipe.batchSize)
        var clusters: [FilterClusters] = []
        for layer in layers {
            let (filters, labels, values) = try AnalysisFileReader.clusterOfLabel(analysisURL, layer: layer)
            guard filters == network.filters(of: layer), labels == labelNames.count else {
                throw RunStoreError(path: analysisURL.path, object: "/layers/\(RunLayout.layerName(layer))/cluster_of_label",
                                    problem: "shape \(filters) x \(labels), expected \(network.filters(of: layer)) x \(labelNames.count)",
                                    fix: "re-run `filterlens analyze \(command.runDirectory)`")
            }
            clusters.append(FilterClusters(filterCount: filters, labelCount: labels, clusterOfLabel: values))
        }
        let (train, test) = try RunData.load(try RunData.dataset(of: configuration), for: configuration)
        let shape = network.headInputShape
        let afcc = PruneMasks.afcc(clusters, headHeight: shape.height, headWidth: shape.width)
        let seeds = try command.parsedSeeds()
        var plan: [(name: String, masks: PruneMasks?, seed: UInt64?)] = [("unpruned", nil, nil), ("afcc", afcc, nil)]
        plan += seeds.map { ("control-seed\($0)", PruneMasks.control(of: afcc, seed: $0, headHeight: shape.height, headWidth: shape.width), $0) }
        let experiment = PruneExperiment(network: network, recipe: recipe, train: train, test: test)
        let tensors = experiment.tensors
        let considered = tensors.reduce(0) { $0 + $1.considered }
        say("prune \(directory.path): layers \(layers.map(String.init).joined(separator: ",")), masked tensors "
            + tensors.map { "\($0.name) (\($0.considered) weights)" }.joined(separator: ", "))
        let withoutCluster = zip(layers, clusters).map { "layer \($0): \($1.filtersWithoutCluster)/\($1.filterCount)" }
        say("filters with no cluster (they keep nothing): " + withoutCluster.joined(separator: ", "))
        say(String(format: "AFCC keeps %.2f%% of the %d weights considered (%@); %d models, %d retraining epochs each on %d images, lr %g x%g/epoch, momentum %g, weight decay %g",
                   100 * Double(afcc.all.map(\.keptWeights).reduce(0, +)) / Double(considered), considered,
                   zip(tensors, afcc.all).map { String(format: "%@ %.2f%%", $0.name, 100 * Double($1.keptWeights) / Double($0.considered)) }.joined(separator: ", "),
                   plan.count, recipe.epochs, train.count, recipe.learningRate, recipe.learningRateDecay, recipe.momentum, recipe.weightDecay))
        let progress = RetrainProgressPrinter()
        var results: [PrunedModelResult] = []
        for (index, entry) in plan.enumerated() {
            let result = experiment.measure(name: entry.name, masks: entry.masks, controlSeed: entry.seed, progress: progress.show)
            results.append(result)
            let kept = entry.masks.map { Double($0.all.map(\.keptWeights).reduce(0, +)) / Double(considered) } ?? 1
            let elapsed = Date().timeIntervalSince(started)
            let left = elapsed / Double(index + 1) * Double(plan.count - index - 1)
            say(String(format: "model %d/%d %@: kept %.2f%%  SR %.4f before, %.4f after retraining  (%@; ETA %@)",
                       index + 1, plan.count, entry.name, 100 * kept, result.srBefore, result.srAfter,
                       ProgressPrinter.duration(result.seconds), ProgressPrinter.duration(left)))
        }
        let provenance = Provenance.collect()
        let numbers: [(String, Double)] = [
            ("retrain_epochs", Double(recipe.epochs)), ("retrain_learning_rate", recipe.learningRate),
            ("retrain_lr_decay", recipe.learningRateDecay), ("retrain_momentum", recipe.momentum),
            ("retrain_weight_decay", recipe.weightDecay), ("retrain_batch_size", Double(recipe.batchSize)),
            ("retrain_augment", recipe.augment ? 1 : 0), ("seed", Double(recipe.seed)),
            ("train_images", Double(train.count)), ("test_images", Double(test.count)),
            ("analysis_threshold", analysis.number("threshold") ?? .nan),
            ("probe_final_test_sr", try probes.probe(layer: layers.last!, labelCount: labelNames.count, readingWeight: false).finalSR),
            ("seconds", Date().timeIntervalSince(started)),
        ]
        var texts = ["command_line", "git_commit", "git_dirty", "machine"].map { ($0, provenance[$0] ?? "") }
        texts.append(("analysis_created", analysis.string("created") ?? ""))
        let outURL = directory.appendingPathComponent(RunLayout.pruneFile)
        try PruneFileWriter.write(experiment.record(results, labelNames: labelNames, numbers: numbers, texts: texts), to: outURL)
        say("phase prune done in \(ProgressPrinter.duration(Date().timeIntervalSince(started))); wrote \(outURL.path); `filterlens report \(command.runDirectory)` adds its figure to report.html")
    }
}

/// Prints retraining progress to standard error (rate, ETA of the model's retraining, running loss), at most every
/// 0.5 s on a terminal and every 10 s in a log, and at each epoch's end.
final class RetrainProgressPrinter {
    private var lastPrint = Date.distantPast
    private let terminal = isatty(STDERR_FILENO) != 0

    func show(_ progress: RetrainProgress) {
        let done = progress.imagesDone >= progress.imagesTotal
        guard done || Date().timeIntervalSince(lastPrint) >= (terminal ? 0.5 : 10) else { return }
        lastPrint = Date()
        let percent = 100 * Double(progress.imagesDone) / Double(max(progress.imagesTotal, 1))
        let line = String(format: "  %@ epoch %d/%d  %5.1f%%  %6.0f img/s  ETA %@  loss %.4f", progress.phase, progress.epoch,
                          progress.epochs, percent, progress.imagesPerSecond, ProgressPrinter.duration(progress.secondsLeft),
                          progress.loss)
        FileHandle.standardError.write(Data(((terminal ? "\r" : "") + line + (terminal && !done ? "" : "\n")).utf8))
    }
}
