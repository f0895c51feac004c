import Foundation
import HDF5
import RunStore
import Testing

/// Phase 2's probes through `ProbeSource`: probe.h5 (layout version 2) or a version 1 run.h5's `/probe`.
@Suite("probe.h5 and ProbeSource")
struct ProbeSourceTests {
    /// A run.h5 of this build in `folder` (a new `@run_id`), opened.
    func writeRun(in folder: URL) throws -> RunFileReader {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: RunConfiguration(preset: "tiny", notation: "8 M", epochs: 1), labelNames: ["a", "b"],
                               provenance: [:])
        try writer.commit()
        return try RunFileReader(url)
    }

    /// A probe of layer 1 (2 labels, 1 x 2 x 2) whose weight is `first`, `first + 1`, ...
    func probe(startingAt first: Float) -> ProbeHead {
        ProbeHead(layer: 1, weight: (0..<8).map { first + Float($0) }, labelCount: 2, channels: 1, height: 2, width: 2,
                  epochs: [ProbeEpoch(epoch: 1, trainLoss: 0.6, testSR: 0.75)], lossFlag: "ok")
    }

    /// Writes probe.h5 into `folder` for the run identified by `runID`, with one probe.
    func writeProbes(in folder: URL, runID: String, _ probe: ProbeHead) throws {
        let writer = try ProbeFileWriter(creating: folder.appendingPathComponent(RunLayout.probeFile), runID: runID)
        try writer.writeRecipe(ProbeConfiguration(epochs: 4), seed: 9)
        try writer.writeProbe(probe)
        try writer.commit()
    }

    @Test("run.h5 is version 2 with a run_id of its own; probe.h5 records it, holds /recipe and /layerNN")
    func layout() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try writeRun(in: folder.appendingPathComponent("a")), second = try writeRun(in: folder.appendingPathComponent("b"))
        #expect(first.formatVersion == 2 && RunLayout.version == 2)
        #expect(first.identity.count == 36 && first.identity != second.identity, "a random UUID per run.h5")
        try writeProbes(in: folder.appendingPathComponent("a"), runID: first.identity, probe(startingAt: 0))
        let file = try H5File.open(folder.appendingPathComponent("a/probe.h5").path)
        #expect(try file.root.stringAttribute("format") == "filterlens-probe")
        #expect(try file.root.intAttribute("format_version") == 2)
        #expect(try file.root.stringAttribute("run_id") == first.identity)
        #expect(try file.root.openGroup("recipe").intAttribute("seed") == 9)
        #expect(try file.root.openDataset("layer01/weight").shape == [2, 4])
        #expect(try file.root.openGroup("layer01").doubleAttribute("final_test_sr") == 0.75)
        let run = try H5File.open(first.path)
        #expect(!run.root.contains("probe"), "phase 2's probes are not in a version 2 run.h5")
    }

    @Test("a probe.h5 made for another run.h5 is refused in one line naming the file and the fix")
    func probesOfAnotherRun() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try writeRun(in: folder.appendingPathComponent("a")), second = try writeRun(in: folder.appendingPathComponent("b"))
        try writeProbes(in: folder.appendingPathComponent("b"), runID: first.identity, probe(startingAt: 0))
        let error = #expect(throws: RunStoreError.self) { try ProbeSource.find(for: second) }
        let text = error?.description ?? ""
        #expect(text.hasPrefix(folder.appendingPathComponent("b/probe.h5").path + " [/@run_id]: made for another run.h5"), "\(text)")
        #expect(text.contains(first.identity) && text.contains(second.identity), "\(text)")
        #expect(text.contains("run `filterlens probe \(folder.appendingPathComponent("b").path)` to probe this run again"), "\(text)")
        #expect(!text.contains("\n"))
    }

    @Test("a probe.h5 of an unknown layout version is refused, naming the file and the fix", arguments: [(3, "update FilterLens"),
        (1, "this FilterLens reads version 2")])
    func unknownVersion(version: Int, fix: String) throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try writeRun(in: folder)
        let url = folder.appendingPathComponent(RunLayout.probeFile)
        do {
            let file = try H5File.create(url.path)
            try file.root.setAttribute("format", RunLayout.probeFormat)
            try file.root.setAttribute("format_version", version)
            try file.root.setAttribute("run_id", run.identity)
        }
        let error = #expect(throws: RunStoreError.self) { try ProbeSource.find(for: run) }
        #expect(error?.description.hasPrefix(url.path + " [/@format_version]: layout version \(version)") == true, "\(String(describing: error))")
        #expect(error?.description.contains(fix) == true, "\(String(describing: error))")
    }

    @Test("a version 1 run.h5 keeps its probes under /probe; a probe.h5 beside it is read instead; neither is nil")
    func version1Probes() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.runFile)
        do {   // the layout version 1 had: probes in run.h5, identified by its @created
            let file = try H5File.create(url.path)
            try file.root.setAttribute("format", RunLayout.runFormat)
            try file.root.setAttribute("format_version", 1)
            try file.root.setAttribute("created", "2025-01-02T03:04:05Z")
            try file.root.setAttribute("label_names", ["a", "b"])
            let probe = try file.root.createGroup("probe")
            try probe.setAttribute("epochs", 7)
            let layer = try probe.createGroup("layer02")
            for (name, value) in [("channels", 1), ("height", 1), ("width", 3)] { try layer.setAttribute(name, value) }
            try layer.write("weight", (0..<6).map(Float.init), shape: [2, 3])
            try layer.write("test_sr", [0.5, 0.625], shape: [2])
            try layer.write("train_loss", [0.9, 0.8], shape: [2])
        }
        let run = try RunFileReader(url)
        #expect(run.formatVersion == 1 && run.identity == "2025-01-02T03:04:05Z")
        let old = try #require(try ProbeSource.find(for: run))
        #expect(old.path == url.path && old.fileName == "run.h5")
        #expect(try old.layers() == [2] && old.recipe()?.epochs == 7)
        let stored = try old.probe(layer: 2, labelCount: 2)
        #expect(stored.weight == (0..<6).map(Float.init) && stored.finalSR == 0.625 && stored.bestSR == 0.625)
        let missing = #expect(throws: RunStoreError.self) { try old.probe(layer: 1, labelCount: 2) }
        #expect(missing?.description.contains("run.h5 [/probe/layer01]: missing group") == true)

        try writeProbes(in: folder, runID: run.identity, probe(startingAt: 100))
        let new = try #require(try ProbeSource.find(for: run))
        #expect(try new.fileName == "probe.h5" && new.layers() == [1])
        #expect(try new.probe(layer: 1, labelCount: 2).weight.first == 100)

        let bare = try writeRun(in: folder.appendingPathComponent("bare"))
        #expect(try ProbeSource.find(for: bare) == nil)
        let none = #expect(throws: RunStoreError.self) { try ProbeSource.open(for: bare) }
        #expect(none?.description.contains("bare/probe.h5: file not found: the run has no phase 2 probes; run `filterlens probe ") == true)
    }

    @Test("a published probe.h5 (its weights left out) reads without its weight; reading the weight names the dataset")
    func publishedCopyWithoutWeights() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try writeRun(in: folder)
        try writeProbes(in: folder, runID: run.identity, probe(startingAt: 0))
        do {   // as scripts/publish_hdf5.py leaves it
            let file = try H5File.open(folder.appendingPathComponent(RunLayout.probeFile).path, writable: true)
            try file.root.openGroup("layer01").remove("weight")
        }
        let source = try #require(try ProbeSource.find(for: run))
        let head = try source.probe(layer: 1, labelCount: 2, readingWeight: false)
        #expect(head.weight.isEmpty && head.finalSR == 0.75 && head.lossFlag == "ok" && head.channels == 1)
        let error = #expect(throws: RunStoreError.self) { try source.probe(layer: 1, labelCount: 2) }
        #expect(error?.description.contains("probe.h5 [/layer01/weight]: missing dataset") == true, "\(String(describing: error))")
    }
}
