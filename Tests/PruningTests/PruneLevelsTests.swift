import Foundation
import HDF5
import Plot
import Pruning
import Report
import RunStore
import Testing

/// Several pruning levels in one study, on the tiny run ("4 M 6 M": layer 1 has 4 filters of 16 x 16, layer 2 has 6
/// of 8 x 8) with hand-made clusters, so that every count is known:
///
/// - layer 1: filter a (0...3) has the one cluster {a};
/// - layer 2: filter b (0...5) has the one cluster {b, b + 1}.
///
/// Head of layer 2 (10 x 6*64 = 3,840 weights): every filter keeps 2 labels x 64 = 128, so 768 kept, 3,072 pruned.
/// conv2 (6 x 4 kernels = 216 weights): kernel (b, a) is kept when a is in {b, b + 1}: b = 0, 1, 2 keep 2 kernels,
/// b = 3 keeps 1 (a = 3), b = 4, 5 keep none: 7 kernels = 63 weights kept, 153 pruned.
/// The network up to the head of layer 2: conv1 3 x 4 x 9 = 108, conv2 216, head 3,840: 4,164 weights.
enum HandMadeClusters {
    static let layer1 = FilterClusters(filterCount: 4, labelCount: 10, clusterOfLabel: (0..<4).flatMap { a in
        (0..<10).map { $0 == a ? Int32(0) : -1 }
    })
    static let layer2 = FilterClusters(filterCount: 6, labelCount: 10, clusterOfLabel: (0..<6).flatMap { b in
        (0..<10).map { $0 == b || $0 == b + 1 ? Int32(0) : -1 }
    })
    static let byLayer = [1: layer1, 2: layer2]
    static let networkWeights = 108 + 216 + 3840
    static let headPruned = 3072, convPruned = 153
}

func tinyRecipe(epochs: Int = 1) -> RetrainRecipe {
    RetrainRecipe(epochs: epochs, learningRate: 0.05, learningRateDecay: 1, momentum: 0.9, weightDecay: 1e-3,
                  batchSize: 8, augment: true, seed: 4)
}

/// A study of levels [2] and [1, 2] with control seeds 7 and 8 on the tiny run.
func tinyStudy(_ run: (directory: URL, configuration: RunConfiguration), epochs: Int = 1) throws -> PruneStudy {
    let reader = try RunFileReader(run.directory.appendingPathComponent(RunLayout.runFile))
    return try PruneStudy(run: reader, probes: ProbeSource.open(for: reader), configuration: run.configuration,
                          levels: [PruneLevel(layers: [2], recipe: tinyRecipe(epochs: epochs)),
                                   PruneLevel(layers: [1, 2], recipe: tinyRecipe(epochs: epochs))],
                          clusters: HandMadeClusters.byLayer, controlSeeds: [7, 8],
                          train: tinyImages(24, seed: 1), test: tinyImages(16, seed: 2))
}

@Suite("pruning levels")
struct PruneLevelsTests {
    @Test("two levels in one call give two levels in prune.h5, with the pruned fractions the clusters imply")
    func twoLevels() throws {
        let run = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: run.directory) }
        let study = try tinyStudy(run)
        var saved: [Int] = []
        let records = try study.run(finished: [], saved: { saved.append($0.count) })
        #expect(saved == Array(1...8), "a checkpoint after every model")
        let url = run.directory.appendingPathComponent(RunLayout.pruneFile)
        try PruneFileWriter.write(PruneFileRecord(labelNames: (0..<10).map { "label\($0)" }, numbers: [("seconds", 1)], texts: [],
                                                  levels: records), to: url)
        let summary = try PruneFileReader.read(url)
        #expect(summary.levels.map(\.layers) == [[2], [1, 2]])
        let (n, considered1, considered2) = (Double(HandMadeClusters.networkWeights), 3840.0, 3840.0 + 216)
        let pruned1 = Double(HandMadeClusters.headPruned), pruned2 = Double(HandMadeClusters.headPruned + HandMadeClusters.convPruned)
        for (level, (pruned, considered)) in zip(summary.levels, [(pruned1, considered1), (pruned2, considered2)]) {
            #expect(level.models == ["unpruned", "afcc", "control-seed7", "control-seed8"])
            #expect(level.controlSeeds == [-1, -1, 7, 8])
            #expect(level.keptFraction[0] == 1 && level.networkKeptFraction[0] == 1)
            for row in 1...3 {
                #expect(abs(level.keptFraction[row] - (1 - pruned / considered)) < 1e-12, "\(level.layers) \(level.models[row])")
                #expect(abs(level.networkKeptFraction[row] - (1 - pruned / n)) < 1e-12, "\(level.layers) \(level.models[row])")
            }
            #expect(level.seconds.allSatisfy { $0 > 0 })
            #expect(level.srAfter.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(level.attributes["retrain_learning_rate"] == "0.05")
        }
        #expect(summary.levels[1].networkKeptFraction[1] < summary.levels[0].networkKeptFraction[1],
                "pruning conv2 as well prunes more of the network")
        // the control keeps AFCC's counts per tensor at every level
        let file = try H5File.open(url.path)
        for (name, tensors) in [("level01", 1), ("level02", 2)] {
            let kept = try file.root.openDataset("levels/\(name)/results/kept").read(as: Int64.self)
            #expect(kept.count == 4 * tensors)
            for model in 2...3 { #expect(Array(kept[(model * tensors)..<((model + 1) * tensors)]) == Array(kept[tensors..<(2 * tensors)])) }
        }
        let level2 = try file.root.openDataset("levels/level02/results/kept").read(as: Int64.self)
        #expect(level2[2...3] == [768, 63])
        #expect(try file.root.stringsAttribute("levels") == ["level01", "level02"])
        #expect(try file.root.openGroup("levels/level02").intsAttribute("layers") == [1, 2])
        #expect(try file.root.openDataset("levels/level02/models/afcc/layer02_conv").read(as: UInt8.self).reduce(0) { $0 + Int($1) } == 7)
    }

    @Test("the figure's CSV has one row per level and model; AFCC's line runs through the levels in order of x")
    func figureTable() throws {
        let run = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: run.directory) }
        let records = try tinyStudy(run, epochs: 0).run(finished: [])
        let url = run.directory.appendingPathComponent(RunLayout.pruneFile)
        try PruneFileWriter.write(PruneFileRecord(labelNames: (0..<10).map { "label\($0)" }, numbers: [], texts: [], levels: records), to: url)
        let summary = try PruneFileReader.read(url)
        let table = PruneSection.table(summary)
        #expect(table.rows.count == 8)
        #expect(table.rows.map { $0[0] } == ["1", "1", "1", "1", "2", "2", "2", "2"])
        #expect(table.rows.map { $0[1] } == ["2", "2", "2", "2", "1 2", "1 2", "1 2", "1 2"])
        #expect(table.rows.map { $0[2] } == ["unpruned", "afcc", "control-seed7", "control-seed8", "unpruned", "afcc", "control-seed7", "control-seed8"])
        let network = table.header.firstIndex(of: "pruned_fraction_of_network")!
        #expect(table.rows[5][network] == CSVTable.number(1 - summary.levels[1].networkKeptFraction[1]))
        #expect(Double(table.rows[1][network])! < Double(table.rows[5][network])!)
        let figure = PruneSection.figure(summary)
        #expect(figure.table == table)
        let drawn = figure.figure.dataTable().rows
        let afcc = drawn.filter { $0[0] == "After retraining" && $0[2] == "AFCC" }
        let expected = [HandMadeClusters.headPruned, HandMadeClusters.headPruned + HandMadeClusters.convPruned]
            .map { 100 * Double($0) / Double(HandMadeClusters.networkWeights) }
        #expect(afcc.count == 2)
        for (row, x) in zip(afcc, expected) { #expect(abs(Double(row[3])! - x) < 1e-9) }
        #expect(drawn.contains { $0[1] == "hline" && $0[2] == "unpruned, as trained" })
        #expect(drawn.filter { $0[2] == "unpruned, retrained as at that level" }.count == 2)
    }

    @Test("a study stopped inside a model's retraining resumes from the checkpoint to the uninterrupted result, bit for bit")
    func resume() throws {
        let run = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: run.directory) }
        let whole = try tinyStudy(run, epochs: 2).run(finished: [])
        // Stopped inside the sixth model (level 2's afcc), in its retraining's second epoch: five were finished and
        // the sixth's place and state go into the checkpoint with them.
        let checkpoint = run.directory.appendingPathComponent(RunLayout.pruneCheckpointFile)
        let study = try tinyStudy(run, epochs: 2)
        let plan = study.plan(sources: "test")
        var stoppedAt: RetrainPosition?
        #expect(throws: RetrainingStopped.self) {
            _ = try study.run(finished: [], afterBatch: { position in
                guard position.level == 1 && position.name == "afcc" && position.cursor.epoch == 1 else { return .proceed }
                try PruneCheckpointFile.save(plan: plan, models: position.finishedModels, inProgress: position.inProgress(),
                                             to: checkpoint)
                stoppedAt = position
                return .stop
            }, saved: { try PruneCheckpointFile.save(plan: plan, models: $0, to: checkpoint) })
        }
        let saved = try PruneCheckpointFile.load(from: checkpoint)
        #expect(saved.plan == plan)
        #expect(saved.models.map(\.name) == ["unpruned", "afcc", "control-seed7", "control-seed8", "unpruned"])
        #expect(saved.models.map(\.level) == [0, 0, 0, 0, 1])
        let inProgress = try #require(saved.inProgress)
        #expect(inProgress.position.level == 1 && inProgress.position.name == "afcc")
        #expect(inProgress.position.cursor == stoppedAt?.cursor && inProgress.position.cursor.imagesDone > 0)
        #expect(inProgress.position.retrainLoss.count == 1, "one epoch finished before the stop")
        #expect(Set(inProgress.buffers.keys) == ["parameters", "velocity", "statistics"], "level 2 retrains convolution 2 too")
        var measured: [String] = []
        let resumed = try tinyStudy(run, epochs: 2).run(finished: saved.models, inProgress: inProgress,
                                             finished: { if !$0.fromCheckpoint { measured.append("\($0.level) \($0.result.name)") } })
        #expect(measured == ["2 afcc", "2 control-seed7", "2 control-seed8"], "only the models not in the checkpoint are measured")
        for (a, b) in zip(whole, resumed) {
            #expect(a.models.map(\.srBefore) == b.models.map(\.srBefore))
            #expect(a.models.map(\.srAfter) == b.models.map(\.srAfter))
            #expect(a.models.map(\.retrainLoss) == b.models.map(\.retrainLoss))
            #expect(a.models.map(\.masks) == b.models.map(\.masks))
        }
        #expect(try tinyStudy(run, epochs: 2).plan(sources: "other") != plan, "the plan names its sources")
    }

    @Test("a model stopped inside the retraining of a head alone resumes bit for bit")
    func resumeConvolutions() throws {
        let run = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: run.directory) }
        let whole = try tinyStudy(run).run(finished: [])
        let study = try tinyStudy(run)
        var stopped: PruneModelInProgress?
        var finished: [PruneModelOutcome] = []
        #expect(throws: RetrainingStopped.self) {
            _ = try study.run(finished: [], afterBatch: { position in
                guard position.level == 0 && position.name == "control-seed7" && position.cursor.imagesDone >= 16
                else { return .proceed }
                stopped = position.inProgress()
                finished = position.finishedModels
                return .stop
            })
        }
        let inProgress = try #require(stopped)
        #expect(Set(inProgress.buffers.keys) == ["parameters", "velocity"], "level 1 prunes layer 2's head alone")
        let resumed = try tinyStudy(run).run(finished: finished, inProgress: inProgress)
        #expect(whole[0].models.map(\.srAfter) == resumed[0].models.map(\.srAfter))
        #expect(whole[0].models.map(\.retrainLoss) == resumed[0].models.map(\.retrainLoss))
    }

    @Test("a single-level prune.h5 made before levels existed reads as one level")
    func singleLevelFile() throws {
        let url = try #require(Bundle.module.url(forResource: "prune-single-level", withExtension: "h5", subdirectory: "Fixtures"))
        let summary = try PruneFileReader.read(url)
        #expect(summary.levels.count == 1)
        let level = summary.levels[0]
        #expect(level.layers == [1, 2])
        #expect(level.models == ["unpruned", "afcc", "control-seed4", "control-seed5"])
        #expect(level.tensors == ["layer02_head", "layer02_conv"])
        #expect(level.srBefore == [0.12, 0.12, 0.09, 0.16])
        #expect(level.srAfter == [0.12, 0.14, 0.11, 0.18])
        #expect(level.keptFraction[0] == 1 && level.keptFraction[1] == Double(3136 + 693) / Double(10240 + 1152))
        #expect(level.networkKeptFraction.allSatisfy(\.isNaN) && level.seconds.allSatisfy(\.isNaN), "not recorded then")
        #expect(level.attributes["retrain_learning_rate"] == "0.01")
        #expect(summary.attributes["seconds"] == "0.4256")
        let figure = PruneSection.figure(summary)
        #expect(figure.table?.rows.count == 4)
        let afcc = figure.figure.dataTable().rows.filter { $0[0] == "After retraining" && $0[2] == "AFCC" }
        #expect(afcc.map { $0[3] } == [CSVTable.number(100 * (1 - level.keptFraction[1]))], "x falls back to the masked tensors")
    }
}
