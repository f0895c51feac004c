import Foundation
import HDF5
import RunStore
import Testing

/// A run folder of HDF5 layout version 1 (Fixtures/v1-run, made by FilterLens before probe.h5; its README says how):
/// phase 2's probes in run.h5's `/probe`, analysis.h5 and prune.h5 of version 1. This build reads it through
/// `ProbeSource`: it analyses, reports, compares, prunes and resumes it.
@Suite("a run of layout version 1", .serialized)
struct Version1RunTests {
    static let fixture = Bundle.module.url(forResource: "v1-run", withExtension: nil, subdirectory: "Fixtures")!
    /// The fixture's run.h5 `@created`: what identifies it to a probe.h5 (version 1 has no `@run_id`).
    static let created = "2026-12-01T14:16:37Z"

    /// A copy of the fixture as `v1-run` beside the images it was trained on (`data`, as its README says), its recorded
    /// data folder (run.h5's `/config` and checkpoint.h5's configuration) pointed at them: the folder it was made in is
    /// gone.
    static func copy() throws -> (root: URL, run: URL) {
        let root = try makeTinyDataset(trainPerFile: 50, test: 50)
        let run = root.appendingPathComponent("v1-run")
        try FileManager.default.copyItem(at: fixture, to: run)
        let recorded = "\"dataDirectory\":" + String(decoding: try JSONEncoder().encode("/tmp/filterlens-v1-fixture/data/cifar-10-batches-bin"), as: UTF8.self)
        let data = root.appendingPathComponent("data/cifar-10-batches-bin").path
        let moved = "\"dataDirectory\":" + String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        do {
            let config = try H5File.open(run.appendingPathComponent("run.h5").path, writable: true).root.openGroup("config")
            let json = try config.stringAttribute("json")
            #expect(json.contains(recorded))
            try config.setAttribute("json", json.replacingOccurrences(of: recorded, with: moved))
            try config.setAttribute("data_directory", data)
            let checkpoint = try H5File.open(run.appendingPathComponent("checkpoint.h5").path, writable: true).root
            try checkpoint.setAttribute("config_json", try checkpoint.stringAttribute("config_json").replacingOccurrences(of: recorded, with: moved))
        }
        return (root, run)
    }

    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    @Test("its probes read as h5dump shows them: SR per epoch and layer, weights and their shape, the per-layer recipe")
    func probesRead() throws {
        let run = try RunFileReader(Self.fixture.appendingPathComponent("run.h5"))
        #expect(run.formatVersion == 1 && run.identity == Self.created)
        let probes = try #require(try ProbeSource.find(for: run))
        #expect(probes.fileName == "run.h5")
        #expect(try probes.layers() == [1, 2])
        let first = try probes.probe(layer: 1, labelCount: 10), second = try probes.probe(layer: 2, labelCount: 10)
        #expect(first.epochs.map(\.testSR) == [0.225, 0.375] && second.epochs.map(\.testSR) == [0.1, 0.175])
        #expect(first.finalSR == 0.375 && second.finalSR == 0.175 && second.bestSR == 0.175)
        #expect(first.epochs.map(\.trainLoss).count == 2 && abs(first.epochs[1].trainLoss - 2.2269) < 1e-4)
        #expect([first.channels, first.height, first.width] == [4, 8, 8] && first.weight.count == 10 * 256)
        #expect([second.channels, second.height, second.width] == [6, 4, 4] && second.weight.count == 10 * 96)
        #expect(Array(second.weight.prefix(3)) == [-0.09200440347194672, 0.024852044880390167, -0.08995290100574493])
        #expect(first.lossFlag == "ok" && second.lossFlag == "ok")
        let recipe = try #require(probes.recipe())
        #expect(recipe.epochs == 2 && recipe.layerLearningRates == [0.01, 0.02] && recipe.startingRate(layer: 2) == 0.02)
        #expect(recipe.batchSize == 100 && recipe.momentum == 0.975 && recipe.learningRateDecay == 0.975 && recipe.augment)
        // Version 1's analysis.h5 kept copies of SR(l); they equal the probes' (this build reads the probes).
        let analysis = try AnalysisFileReader(Self.fixture.appendingPathComponent("analysis.h5"))
        #expect(try analysis.summaryColumn(LayerColumns.probeFinalSR.name) == [first.finalSR, second.finalSR])
    }

    @Test("report, compare and analyze read it; the analysis gives version 1's layers.csv again; run.h5 is left alone")
    func reportCompareAnalyze() throws {
        let (root, run) = try Self.copy()
        defer { try? FileManager.default.removeItem(at: root) }
        let runFile = run.appendingPathComponent("run.h5")
        let before = try Data(contentsOf: runFile)
        let report = try runFilterLens(["report", "v1-run"], in: root)
        #expect(report.status == 0, "\(report.errors)")
        let html = try Self.text(run.appendingPathComponent("report.html"))
        #expect(html.contains("0.375") && html.contains("0.175"), "SR(l) of both layers in the table")
        #expect(html.contains("phase 2 probes (layout version 1)"))
        #expect(html.contains("id=\"pruning\"") && html.contains("control-seed1") && !html.contains("Stale:"), "version 1's prune.h5 reads")
        let compare = try runFilterLens(["compare", "v1-run", "v1-run", "--out", "cmp"], in: root)
        #expect(compare.status == 0, "\(compare.errors)")
        let page = try Self.text(root.appendingPathComponent("cmp/compare.html"))
        #expect(page.contains("<td>0.375</td>") && page.contains("<td>0.175</td>"), "SR(1) and SR(L) of the run")
        try publishedCopyCompares(run, in: root)

        let analyze = try runFilterLens(["analyze", "v1-run"], in: root)
        #expect(analyze.status == 0, "\(analyze.errors)")
        #expect(try Self.text(run.appendingPathComponent("layers.csv")) == Self.text(Self.fixture.appendingPathComponent("layers.csv")))
        let analysis = try H5File.open(run.appendingPathComponent("analysis.h5").path).root
        #expect(try analysis.intAttribute("format_version") == RunLayout.analysisVersion && analysis.stringAttribute("source_probe") == "run.h5")
        #expect(!analysis.contains("summary/sr_probe_final"), "SR(l) is not copied into a version 2 analysis.h5")
        #expect(try Data(contentsOf: runFile) == before)
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("probe.h5").path))
    }

    /// scripts/publish_hdf5.py copies a version 1 run (no probe.h5) without its weights, the probes' in run.h5's
    /// `/probe` included; `compare` reads the copy to the same SR(l).
    func publishedCopyCompares(_ run: URL, in root: URL) throws {
        let published = root.appendingPathComponent("published/v1-run")
        try FileManager.default.createDirectory(at: published, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/publish_hdf5.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, run.path, published.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let copy = try H5File.open(published.appendingPathComponent("run.h5").path).root
        #expect(!copy.contains("weights") && !copy.contains("probe/layer01/weight") && copy.contains("probe/layer01/test_sr"))
        #expect(!FileManager.default.fileExists(atPath: published.appendingPathComponent("probe.h5").path))
        let compare = try runFilterLens(["compare", "published/v1-run", "--out", "cmp-published"], in: root)
        #expect(compare.status == 0, "\(compare.errors)")
        let page = try Self.text(root.appendingPathComponent("cmp-published/compare.html"))
        #expect(page.contains("<td>0.375</td>") && page.contains("<td>0.175</td>"), "SR(1) and SR(L) from the copy")
    }

    @Test("prune retrains from run.h5's /probe: the unpruned head's SR before retraining is SR(l_k)")
    func prune() throws {
        let (root, run) = try Self.copy()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(["prune", "v1-run", "--retrain-epochs", "0", "--control-seeds", "1"], in: root)
        #expect(result.status == 0, "\(result.errors)")
        let file = try H5File.open(run.appendingPathComponent("prune.h5").path).root
        #expect(try file.intAttribute("format_version") == 2)
        let prune = try file.openGroup("levels/level01")
        #expect(try prune.doubleAttribute("probe_final_test_sr") == 0.175)
        #expect(try prune.openDataset("results/sr_before").read(as: Double.self).first == 0.175)
        #expect(try prune.doubleAttribute("retrain_learning_rate") == 0.02, "layer 2's phase 2 rate, from /probe@layer_learning_rates")
        #expect(try prune.openDataset("models/afcc/layer02_head").shape == [10, 96])
    }

    @Test("run --resume keeps every phase of the complete version 1 run; with phase 1 only, it writes probe.h5 and leaves run.h5")
    func resume() throws {
        let (root, run) = try Self.copy()
        defer { try? FileManager.default.removeItem(at: root) }
        let runFile = run.appendingPathComponent("run.h5"), analysisFile = run.appendingPathComponent("analysis.h5")
        let analysis = try Data(contentsOf: analysisFile)
        let kept = try runFilterLens(["run", "--resume", "--out", "v1-run", "--probe-epochs", "2", "--probe-lr", "0.01,0.02"], in: root)
        #expect(kept.status == 0, "\(kept.errors)")
        for phase in ["phase 1", "phase 2", "phase 3"] {
            #expect(kept.output.contains("\(phase) of \(run.path) is complete"), "\(kept.output)")
        }
        #expect(try Data(contentsOf: analysisFile) == analysis, "version 1's analysis.h5 is kept")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("probe.h5").path))

        // Phase 1 done, phase 2 not yet: what a version 1 run.h5 held before phase 2 added /probe.
        try H5File.open(runFile.path, writable: true).root.remove("probe")
        for name in ["analysis.h5", "prune.h5", "layers.csv"] { try FileManager.default.removeItem(at: run.appendingPathComponent(name)) }
        let before = try Data(contentsOf: runFile)
        let resumed = try runFilterLens(["run", "--resume", "--out", "v1-run", "--probe-epochs", "2", "--probe-lr", "0.01,0.02"], in: root)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("phase 1 of \(run.path) is complete") && resumed.output.contains("phase 2 done"), "\(resumed.output)")
        #expect(try Data(contentsOf: runFile) == before, "phase 2 never edits run.h5")
        let probes = try H5File.open(run.appendingPathComponent("probe.h5").path).root
        #expect(try probes.stringAttribute("format") == "filterlens-probe" && probes.intAttribute("format_version") == 2)
        #expect(try probes.stringAttribute("run_id") == Self.created)
        #expect(try Self.text(run.appendingPathComponent("layers.csv")) == Self.text(Self.fixture.appendingPathComponent("layers.csv")),
                "this build's phase 2 trains the probes version 1's did, on the same images and seed")
        let again = try runFilterLens(["run", "--resume", "--out", "v1-run", "--probe-epochs", "2", "--probe-lr", "0.01,0.02"], in: root)
        #expect(again.output.contains("phase 2 of \(run.path) is complete"), "\(again.output)")
    }
}
