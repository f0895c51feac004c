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
        retraining.

        Pruning levels: every --layers is one level, so `--layers 6 --layers 5,6 --layers 4,5,6` measures the five \
        models (unpruned, AFCC, the controls) at three levels, a curve of SR against the fraction of weights pruned. \
        prune-checkpoint.h5 keeps the models finished and, every --checkpoint-minutes and on Ctrl-C (which stops after \
        the current batch), the model in retraining at its place; an interrupted prune continues with --resume and the \
        same flags, to the numbers of an uninterrupted one.

        Writes only RUN/prune.h5 (docs/hdf5-layout.md), and its checkpoint; `filterlens report RUN` then adds the figure \
        and a section to report.html. See docs/pruning.md.
        """)

    @Argument(help: "Run directory, probed and analysed (run.h5, probe.h5, analysis.h5).")
    var runDirectory: String

    @Option(help: "Consecutive layers to prune, comma-separated: one pruning level. Repeat for several levels, e.g. --layers 6 --layers 5,6 (default: the last two analysed layers; one layer prunes its head only).")
    var layers: [NumberList<Int>] = []

    @Option(name: .customLong("retrain-epochs"), help: "Epochs of retraining with the masks held (0: measure before retraining only).")
    var retrainEpochs = 2

    @Option(name: .customLong("control-seeds"), help: "Seeds of the random-cluster controls, comma-separated.")
    var controlSeeds = NumberList<UInt64>([1, 2, 3])

    @Option(name: .customLong("retrain-lr"), help: "Starting learning rate of retraining (default: per level, the phase 2 rate of its last layer's head).")
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

    @Flag(help: "Continue an interrupted prune from RUN/prune-checkpoint.h5 (same flags): the models finished there are not measured again, the one in retraining continues where it stopped.")
    var resume = false

    @OptionGroup var checkpoints: CheckpointOptions

    func validate() throws {
        guard retrainEpochs >= 0 else { throw ValidationError("--retrain-epochs must be >= 0") }
        if layers.contains(where: { $0.values.contains(0) }) {
            throw ValidationError("--layers: layers are numbered from 1, e.g. --layers 5,6")
        }
        if let repeated = layers.first(where: { level in layers.filter { $0 == level }.count > 1 }) {
            throw ValidationError("--layers \(repeated.text) is given twice: give each level once")
        }
        guard Set(controlSeeds.values).count == controlSeeds.values.count else {
            throw ValidationError("--control-seeds \(controlSeeds.text): give each seed once")
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--retrain-lr must be positive") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--retrain-momentum must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0) { throw ValidationError("--retrain-weight-decay must be >= 0") }
    }

    func run() throws {
        try reportingFailures {
            let directory = RunDirectory(URL(fileURLWithPath: runDirectory))
            try RunLock.holding(directory, command: "filterlens prune", creating: false) {
                let request = PruneRequest(
                    directory: directory, levels: layers.map(\.values),
                    overrides: RetrainOverrides(epochs: retrainEpochs, learningRate: learningRate,
                                                learningRateDecay: learningRateDecay, momentum: momentum,
                                                weightDecay: weightDecay, seed: seed, noAugment: noAugment),
                    controlSeeds: controlSeeds.values, checkpointMinutes: checkpoints.checkpointMinutes, resume: resume,
                    provenance: Provenance.collect())
                do {
                    try Pipeline.prune(request, .console())
                } catch let stopped as StoppedAfterSaving {
                    throw StoppedAfterSaving(description: "\(stopped); `filterlens prune \(runDirectory) --resume` with the same flags continues")
                }
                say("`filterlens report \(runDirectory)` adds its figure to report.html")
            }
        }
    }
}
