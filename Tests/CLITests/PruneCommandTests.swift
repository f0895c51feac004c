import Foundation
import HDF5
import Pruning
import Testing

@Suite("filterlens prune", .serialized)
struct PruneCommandTests {
    /// A tiny data set in a new folder (the root) and a run through all three phases in root/runs/tiny (the run).
    static func makeDissectedRun() throws -> (root: URL, run: URL) {
        let root = try makeTinyDataset()
        let made = try runFilterLens(["run", "--preset", "tiny", "--data", "data", "--out", "runs/tiny", "--epochs", "1",
                                      "--subset", "300", "--test-subset", "100"], in: root)
        #expect(made.status == 0, "\(made.errors)")
        return (root, root.appendingPathComponent("runs/tiny"))
    }

    @Test("prune writes prune.h5 for a tiny dissected run, leaves run.h5, probe.h5 and analysis.h5 alone, and the report shows it")
    func pruneTinyRun() throws {
        let (root, run) = try Self.makeDissectedRun()
        defer { try? FileManager.default.removeItem(at: root) }
        let sources = ["run.h5", "probe.h5", "analysis.h5"].map { run.appendingPathComponent($0) }
        let before = try sources.map { try Data(contentsOf: $0) }
        let result = try runFilterLens(["prune", "runs/tiny", "--layers", "1,2", "--layers", "2", "--retrain-epochs", "1",
                                        "--control-seeds", "4,5"], in: root)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("level 1/2 (layers 1,2) model 4/4 control-seed5"), "\(result.output)")
        #expect(result.output.contains("level 2/2 (layers 2) model 4/4 control-seed5"), "\(result.output)")
        #expect(result.output.contains("ETA"))
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("prune-checkpoint.h5").path),
                "the checkpoint goes once prune.h5 is written")
        #expect(try sources.map { try Data(contentsOf: $0) } == before, "prune never edits run.h5, probe.h5 or analysis.h5")
        let file = try H5File.open(run.appendingPathComponent("prune.h5").path)
        #expect(try file.root.stringAttribute("format") == "filterlens-prune")
        #expect(try file.root.intAttribute("format_version") == 2)
        #expect(try file.root.stringsAttribute("levels") == ["level01", "level02"])
        let level = try file.root.openGroup("levels/level01")
        #expect(try level.stringsAttribute("models") == ["unpruned", "afcc", "control-seed4", "control-seed5"])
        #expect(try level.stringsAttribute("tensors") == ["layer02_head", "layer02_conv"])
        #expect(try file.root.openGroup("levels/level02").stringsAttribute("tensors") == ["layer02_head"])
        let kept = try level.openDataset("results/kept").read(as: Int64.self)
        #expect(kept.count == 8)
        #expect(kept[2] == kept[4] && kept[3] == kept[5] && kept[4] == kept[6] && kept[5] == kept[7], "controls keep AFCC's counts")
        let fractions = try level.openDataset("results/kept_fraction").read(as: Double.self)
        #expect(fractions[0] == 1)
        #expect(fractions[1] < 1 && fractions[1] == fractions[2])
        let network = try level.openDataset("results/network_kept_fraction").read(as: Double.self)
        #expect(network[0] == 1 && network[1] > fractions[1] && network[1] < 1, "the frozen layers count as kept")
        #expect(try level.openDataset("results/seconds").read(as: Double.self).allSatisfy { $0 > 0 })
        let sr = try level.openDataset("results/sr_after").read(as: Double.self)
        #expect(sr.allSatisfy { $0 >= 0 && $0 <= 1 })
        let head = try level.openDataset("models/afcc/layer02_head")
        #expect(head.shape == [10, 16 * 8 * 8])
        #expect(try head.dimensionLabels() == ["output_label", "feature"])
        #expect(try level.openDataset("models/control-seed4/layer02_conv").shape == [16, 8])
        // the AFCC head mask follows analysis.h5's clusters of layer 2
        let analysis = try H5File.open(run.appendingPathComponent("analysis.h5").path)
        let clusters = try analysis.root.openDataset("layers/layer02/cluster_of_label").read(as: Int32.self)
        let mask = try head.read(as: UInt8.self)
        for label in 0..<10 {
            for filter in 0..<16 {
                #expect(mask[label * 1024 + filter * 64] == (clusters[filter * 10 + label] >= 0 ? 1 : 0))
            }
        }
        // prune-checkpoint.h5's plan names every file prune reads: a changed probe.h5 gives another plan
        let identity = try DissectedRun(path: run.path).sourceIdentity
        #expect(identity.contains("probe.h5") && identity.contains("analysis.h5"), "\(identity)")
        let probeFile = run.appendingPathComponent("probe.h5")
        let probeDate = try FileManager.default.attributesOfItem(atPath: probeFile.path)[.modificationDate] as! Date
        try FileManager.default.setAttributes([.modificationDate: probeDate.addingTimeInterval(-60)], ofItemAtPath: probeFile.path)
        #expect(try DissectedRun(path: run.path).sourceIdentity != identity)
        try FileManager.default.setAttributes([.modificationDate: probeDate], ofItemAtPath: probeFile.path)
        let report = try runFilterLens(["report", "runs/tiny"], in: root)
        #expect(report.status == 0, "\(report.errors)")
        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("id=\"pruning\"") && html.contains("control-seed5"))
        for ext in ["pdf", "png", "csv"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("figures/prune_sr.\(ext)").path))
        }
        let csv = try String(contentsOf: run.appendingPathComponent("figures/prune_sr.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 1 + 8, "a header and one row per level and model")
        #expect(html.contains("Level 2: layers 2"))
        #expect(!html.contains("Stale:"))
        // status shows the pruning, each level's AFCC and control SR
        let pruned = try runFilterLens(["status", "runs/tiny"], in: root)
        #expect(pruned.status == 0 && pruned.output.contains("prune           complete")
                && pruned.output.contains("layers 1,2: AFCC SR ") && pruned.output.contains("random control ")
                && pruned.output.contains("every phase and the report are done"), "\(pruned.output)")
        // a new analysis makes prune.h5 and the report stale: status and the report say so
        Thread.sleep(forTimeInterval: 1.1)   // modification times of whole seconds on some file systems
        let again = try runFilterLens(["analyze", "runs/tiny", "--threshold", "0.5"], in: root)
        #expect(again.status == 0, "\(again.errors)")
        let stale = try runFilterLens(["status", "runs/tiny"], in: root)
        #expect(stale.output.contains("report          stale") && stale.output.contains("prune           stale")
                && stale.output.contains("older than analysis.h5") && stale.output.contains("next: filterlens report "),
                "\(stale.output)")
        #expect(try runFilterLens(["report", "runs/tiny"], in: root).status == 0)
        let reported = try runFilterLens(["status", "runs/tiny"], in: root)
        #expect(reported.output.contains("report          complete") && reported.output.contains("prune           stale")
                && reported.output.contains("next: filterlens prune "), "\(reported.output)")
        let staleHTML = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(staleHTML.contains("Stale:"))
        // without analysis.h5: one error line naming the file and the fix
        try FileManager.default.removeItem(at: run.appendingPathComponent("analysis.h5"))
        let missing = try runFilterLens(["prune", "runs/tiny"], in: root)
        #expect(missing.status != 0)
        #expect(missing.errorLines.count == 1, "\(missing.errors)")
        #expect(missing.errors.contains("analysis.h5") && missing.errors.contains("filterlens analyze runs/tiny"), "\(missing.errors)")
        let bad = try runFilterLens(["prune", "runs/tiny", "--layers", "x"], in: root)
        #expect(bad.status != 0 && bad.errors.contains("--layers"))
        let twice = try runFilterLens(["prune", "runs/tiny", "--layers", "2", "--layers", "2"], in: root)
        #expect(twice.status != 0 && twice.errors.contains("--layers 2 is given twice"), "\(twice.errors)")
    }

    @Test("a diverging probe or retraining stops with one line naming the layer or model; nothing half-written")
    func divergence() throws {
        let (root, run) = try Self.makeDissectedRun()
        defer { try? FileManager.default.removeItem(at: root) }
        let probeFile = run.appendingPathComponent("probe.h5")
        let probes = try Data(contentsOf: probeFile)
        // A rate near Float's largest value overflows the probes' weights, so their loss stops being finite.
        let probe = try runFilterLens(["probe", "runs/tiny", "--probe-lr", "3e38"], in: root)
        #expect(probe.status != 0 && probe.errorLines.count == 1, "\(probe.errors)")
        #expect(probe.errors.contains("phase 2 diverged: the probe of layer") && probe.errors.contains("--probe-lr"), "\(probe.errors)")
        #expect(try Data(contentsOf: probeFile) == probes, "the finished phase 2 is left as it was")

        let prune = try runFilterLens(["prune", "runs/tiny", "--layers", "1,2", "--retrain-epochs", "1", "--control-seeds", "1",
                                       "--retrain-lr", "3e38"], in: root)
        #expect(prune.status != 0 && prune.errorLines.count == 1, "\(prune.errors)")
        #expect(prune.errors.contains("retraining diverged: retrain unpruned") && prune.errors.contains("--retrain-lr"), "\(prune.errors)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("prune.h5").path))
    }
}
