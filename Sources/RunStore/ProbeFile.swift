import Foundation
import HDF5

/// Phase 2's trained head of one layer (method.md: W_l, labels x C*H*W, bias-free).
public struct ProbeHead: Sendable {
    /// 1-based convolutional layer.
    public var layer: Int
    /// Weights, labels x (C x H x W) row-major: feature index = (c * H + h) * W + w.
    public var weight: [Float]
    /// Rows of `weight`.
    public var labelCount: Int
    /// C, H, W of the layer's block output.
    public var channels: Int, height: Int, width: Int
    /// Per-epoch training loss and test success rate.
    public var epochs: [ProbeEpoch]
    /// "ok", or why the head's training looks unsettled ("loss rising", "loss high").
    public var lossFlag: String

    public init(layer: Int, weight: [Float], labelCount: Int, channels: Int, height: Int, width: Int,
                epochs: [ProbeEpoch], lossFlag: String) {
        self.layer = layer
        self.weight = weight
        self.labelCount = labelCount
        self.channels = channels
        self.height = height
        self.width = width
        self.epochs = epochs
        self.lossFlag = lossFlag
    }

    /// Test success rate after the last epoch: the headline SR(l), never selected on the test set.
    public var finalSR: Double { epochs.last?.testSR ?? .nan }
    /// The best epoch's test success rate (labelled as such wherever shown).
    public var bestSR: Double { epochs.map(\.testSR).max() ?? .nan }
}

/// Writes `probe.h5` (layout version 2): phase 2's recipe and one trained probe per layer, naming the run.h5 they were
/// trained on. Phase 2 writes it whole and edits no other file.
///
/// The file is built under a temporary name and renamed into place by `commit()`.
public final class ProbeFileWriter {
    private let staged: StagedFile
    private let fix = StagedFile.fix

    /// Starts a new probe file at `url` for the run.h5 whose `identity` (`RunFileReader.identity`) is `runID`, recorded
    /// as root `@run_id`.
    public init(creating url: URL, runID: String) throws(RunStoreError) {
        staged = try StagedFile(creating: url, format: RunLayout.probeFormat)
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in try root.setAttribute("run_id", runID) }
    }

    /// Writes phase 2's recipe as attributes of `/recipe`; `seed` is the seed phase 2 drew from.
    public func writeRecipe(_ recipe: ProbeConfiguration, seed: UInt64) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let group = try root.group("recipe")
            try group.setAttribute("epochs", recipe.epochs)
            try group.setAttribute("learning_rate", recipe.learningRate)
            try group.setAttribute("lr_decay", recipe.learningRateDecay)
            try group.setAttribute("momentum", recipe.momentum)
            try group.setAttribute("weight_decay", recipe.weightDecay)
            try group.setAttribute("batch_size", recipe.batchSize)
            try group.setAttribute("augment", recipe.augment ? 1 : 0)
            if let rates = recipe.layerLearningRates { try group.setAttribute("layer_learning_rates", rates) }
            try group.setAttribute("seed", Int(truncatingIfNeeded: seed))
        }
    }

    /// Writes the trained probe of `probe.layer` as the group `/layerNN`: its weight, per-epoch history and summary
    /// attributes.
    public func writeProbe(_ probe: ProbeHead) throws(RunStoreError) {
        let root = staged.root
        try accessing(fix: fix) { () throws(HDF5Error) in
            let name = RunLayout.layerName(probe.layer)
            if root.contains(name) { try root.remove(name) }
            let group = try root.createGroup(name)
            try group.setAttribute("layer", probe.layer)
            try group.setAttribute("channels", probe.channels)
            try group.setAttribute("height", probe.height)
            try group.setAttribute("width", probe.width)
            try group.setAttribute("loss_flag", probe.lossFlag)
            let features = probe.channels * probe.height * probe.width
            try group.replace("weight", probe.weight, shape: [probe.labelCount, features], labels: ["output_label", "feature"])
            try group.replace("epoch", probe.epochs.map { Int32($0.epoch) }, shape: [probe.epochs.count], labels: ["epoch"])
            try group.replace("train_loss", probe.epochs.map(\.trainLoss), shape: [probe.epochs.count], labels: ["epoch"])
            try group.replace("test_sr", probe.epochs.map(\.testSR), shape: [probe.epochs.count], labels: ["epoch"])
            if let last = probe.epochs.last {
                try group.setAttribute("final_test_sr", last.testSR)
                let best = probe.epochs.max { $0.testSR < $1.testSR }!
                try group.setAttribute("best_test_sr", best.testSR)
                try group.setAttribute("best_epoch", best.epoch)
            }
        }
    }

    /// Closes the file and renames it into place.
    public func commit() throws(RunStoreError) {
        try staged.commit()
    }
}

/// Phase 2's probes of a run, read wherever its layout version keeps them: `probe.h5` beside run.h5 (version 2), or
/// the `/probe` group of a version 1 run.h5, which held them before probe.h5 existed. Phase 3, `prune`, the report
/// and phase 2's completion rule read the probes through this one reader.
///
/// | | version 2: probe.h5 | version 1: run.h5 |
/// |---|---|---|
/// | recipe | `/recipe@...` | `/probe@...` |
/// | probe of layer l | `/layerNN` | `/probe/layerNN` |
public final class ProbeSource {
    /// The file read: probe.h5, or a version 1 run.h5.
    public let path: String
    private let file: H5File
    /// The group whose attributes hold the recipe, and the prefix of the layer groups' paths.
    private let recipeGroup: String, layerPrefix: String
    private let fix: String

    /// The probe file at `url`, checked to hold layout version 2 and to belong to `run` (its `@run_id` is the run's
    /// `identity`): a probe.h5 left from another run.h5 (phase 1 run again, files copied between runs) is refused.
    public init(url: URL, belongingTo run: RunFileReader) throws(RunStoreError) {
        let directory = url.deletingLastPathComponent().path
        path = url.path
        file = try openValidated(url.path, format: RunLayout.probeFormat, versions: 2...RunLayout.version,
                                 producer: "filterlens probe \(directory)")
        recipeGroup = "recipe"
        layerPrefix = ""
        fix = "run `filterlens probe \(directory)` (or write \(RunLayout.probeFile) as docs/hdf5-layout.md says)"
        let root = file.root
        let recorded = root.hasAttribute("run_id") ? (try? root.stringAttribute("run_id")) ?? "" : ""
        guard recorded == run.identity else {
            throw RunStoreError(path: path, object: "/@run_id",
                                problem: "made for another run.h5 (run_id \"\(recorded)\"; \(run.path) has \"\(run.identity)\")",
                                fix: "run `filterlens probe \(directory)` to probe this run again (without --resume)")
        }
    }

    /// The `/probe` group of a version 1 run.h5.
    private init(version1 run: RunFileReader) {
        path = run.path
        file = run.file
        recipeGroup = "probe"
        layerPrefix = "probe/"
        fix = "run `filterlens probe \(URL(fileURLWithPath: run.path).deletingLastPathComponent().path)` (it writes \(RunLayout.probeFile))"
    }

    /// The probes of `run`'s folder: its probe.h5 when present (checked to belong to `run`), else the `/probe` group
    /// of a version 1 `run`; nil when the run has neither (not probed yet).
    public static func find(for run: RunFileReader) throws(RunStoreError) -> ProbeSource? {
        let url = URL(fileURLWithPath: run.path).deletingLastPathComponent().appendingPathComponent(RunLayout.probeFile)
        if FileManager.default.fileExists(atPath: url.path) { return try ProbeSource(url: url, belongingTo: run) }
        if run.formatVersion == 1 && run.file.root.contains("probe") { return ProbeSource(version1: run) }
        return nil
    }

    /// As `find`, where the probes are needed: a run without them is an error naming probe.h5 and the command that
    /// writes it.
    public static func open(for run: RunFileReader) throws(RunStoreError) -> ProbeSource {
        if let source = try find(for: run) { return source }
        let directory = URL(fileURLWithPath: run.path).deletingLastPathComponent()
        throw RunStoreError(path: directory.appendingPathComponent(RunLayout.probeFile).path,
                            problem: "file not found: the run has no phase 2 probes", fix: "run `filterlens probe \(directory.path)` first")
    }

    /// The name of the file read ("probe.h5", or "run.h5" for version 1), as analysis.h5's `@source_probe` records it.
    public var fileName: String { URL(fileURLWithPath: path).lastPathComponent }

    /// Layers with a probe (`layerNN` groups), ascending.
    public func layers() throws(RunStoreError) -> [Int] {
        let root = file.root, prefix = layerPrefix
        let names = try accessing(fix: fix) { () throws(HDF5Error) in
            try (prefix.isEmpty ? root : try root.openGroup(String(prefix.dropLast()))).memberNames()
        }
        return names.compactMap { $0.hasPrefix("layer") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    /// The phase 2 recipe, nil when absent (probes trained elsewhere may come without one).
    public func recipe() -> ProbeConfiguration? {
        guard let group = try? file.root.openGroup(recipeGroup), let epochs = try? group.intAttribute("epochs") else { return nil }
        return ProbeConfiguration(
            epochs: epochs,
            learningRate: (try? group.doubleAttribute("learning_rate")) ?? .nan,
            learningRateDecay: (try? group.doubleAttribute("lr_decay")) ?? .nan,
            momentum: (try? group.doubleAttribute("momentum")) ?? .nan,
            weightDecay: (try? group.doubleAttribute("weight_decay")) ?? .nan,
            batchSize: (try? group.intAttribute("batch_size")) ?? 0,
            augment: ((try? group.intAttribute("augment")) ?? 0) != 0,
            layerLearningRates: try? group.doublesAttribute("layer_learning_rates"))
    }

    /// The probe of `layer` for `labelCount` labels, its weight checked against its stored C x H x W; with
    /// `readingWeight` false its `weight` is left empty (its shape is still checked where the dataset is there: a
    /// published copy of probe.h5 has none, docs/hdf5-layout.md "Published copies").
    public func probe(layer: Int, labelCount: Int, readingWeight: Bool = true) throws(RunStoreError) -> ProbeHead {
        let name = layerPrefix + RunLayout.layerName(layer)
        let fix = self.fix
        guard file.root.contains(name), let group = try? file.root.openGroup(name) else {
            throw RunStoreError(path: path, object: "/" + name, problem: "missing group", fix: fix)
        }
        let (channels, height, width) = try accessing(fix: fix) { () throws(HDF5Error) in
            (try group.intAttribute("channels"), try group.intAttribute("height"), try group.intAttribute("width"))
        }
        var weight: [Float] = []
        if readingWeight || group.contains("weight") {
            let weightSet = try openChecked(group, "weight", file: path, shape: [labelCount, channels * height * width])
            if readingWeight { weight = try accessing(fix: fix) { () throws(HDF5Error) in try weightSet.read(as: Float.self) } }
            guard weight.allSatisfy(\.isFinite) else {
                throw RunStoreError(path: path, object: "/\(name)/weight", problem: "holds NaN or infinite weights: the probe diverged",
                                    fix: "train phase 2 again with a lower learning rate for layer \(layer)")
            }
        }
        var epochs: [ProbeEpoch] = []
        if group.contains("test_sr") {
            let srSet = try openChecked(group, "test_sr", file: path, shape: [nil])
            let count = srSet.shape[0]
            let lossSet = try openChecked(group, "train_loss", file: path, shape: [count])
            let (sr, loss) = try accessing(fix: fix) { () throws(HDF5Error) in
                (try srSet.read(as: Double.self), try lossSet.read(as: Double.self))
            }
            epochs = (0..<count).map { ProbeEpoch(epoch: $0 + 1, trainLoss: loss[$0], testSR: sr[$0]) }
        }
        let flag = (try? group.stringAttribute("loss_flag")) ?? "unknown"
        return ProbeHead(layer: layer, weight: weight, labelCount: labelCount, channels: channels, height: height,
                         width: width, epochs: epochs, lossFlag: flag)
    }
}
