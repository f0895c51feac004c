import Foundation
import HDF5
import RunStore
import Testing

/// A fresh folder under the temporary directory.
func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("run.h5")
struct RunFileTests {
    let configuration = RunConfiguration(preset: "tiny", notation: "8 M 16 M", epochs: 2, dataset: "CIFAR-10 (JPEG copy)")

    @Test("header, metrics, parameters, and the probes of probe.h5 round trip")
    func roundTrip() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: configuration, labelNames: ["a", "b"], provenance: ["git_commit": "abc"])
        let metrics = [EpochMetrics(epoch: 1, learningRate: 0.1, trainLoss: 2, trainSR: 0.2, testLoss: 1.9, testSR: 0.3, seconds: 4, imagesPerSecond: 100),
                       EpochMetrics(epoch: 2, learningRate: 0.05, trainLoss: 1.5, trainSR: 0.4, testLoss: 1.7, testSR: 0.35, seconds: 4, imagesPerSecond: 110)]
        try writer.writeMetrics(metrics)
        let weights: [Float] = (0..<24).map(Float.init)
        try weights.withUnsafeBufferPointer { try writer.writeParameter(name: "conv1.weight", shape: [2, 1, 3, 4], values: $0) }
        try [Float(1), 2].withUnsafeBufferPointer { try writer.writeParameter(name: "conv1.bn.running_var", shape: [2], values: $0) }
        #expect(!FileManager.default.fileExists(atPath: url.path), "nothing at the final name before commit")
        try writer.commit()

        let probes = try ProbeFileWriter(creating: folder.appendingPathComponent(RunLayout.probeFile), runID: try RunFileReader(url).identity)
        let head = ProbeHead(layer: 1, weight: (0..<8).map(Float.init), labelCount: 2, channels: 1, height: 2, width: 2,
                             epochs: [ProbeEpoch(epoch: 1, trainLoss: 0.9, testSR: 0.5), ProbeEpoch(epoch: 2, trainLoss: 0.8, testSR: 0.45)],
                             lossFlag: "ok")
        try probes.writeRecipe(ProbeConfiguration(), seed: 3)
        try probes.writeProbe(head)
        try probes.commit()

        let reader = try RunFileReader(url)
        let source = try #require(try ProbeSource.find(for: reader))
        #expect(try reader.configuration() == configuration)
        #expect(try reader.labelNames() == ["a", "b"])
        #expect(reader.datasetName() == "CIFAR-10 (JPEG copy)")
        #expect(try reader.metrics() == metrics)
        #expect(reader.provenance()["git_commit"] == "abc")
        #expect(try reader.parameterNames() == ["conv1.bn.running_var", "conv1.weight"])
        let (shape, values) = try reader.parameter("conv1.weight")
        #expect(shape == [2, 1, 3, 4] && values == weights)
        #expect(source.path == folder.appendingPathComponent(RunLayout.probeFile).path)
        #expect(try source.layers() == [1])
        let read = try source.probe(layer: 1, labelCount: 2)
        #expect(read.weight == head.weight)
        #expect(read.finalSR == 0.45 && read.bestSR == 0.5)
        #expect(read.lossFlag == "ok")
        #expect(source.recipe() == ProbeConfiguration())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("a label subset is recorded with its data set: /config@labels, @label_set, @data_format, @data_md5")
    func labelSubset() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var subset = configuration
        subset.labelCount = 3
        subset.labels = [4, 0, 17]
        subset.labelSet = "coarse"
        subset.dataFormat = "cifar-100"
        subset.dataMD5 = "03b5dce01913d631647c71ecec9e9cb8"
        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: subset, labelNames: ["e", "a", "r"], provenance: [:])
        try writer.commit()
        let reader = try RunFileReader(url)
        #expect(try reader.configuration() == subset)
        #expect(try reader.configuration()?.sourceLabels == [4, 0, 17])
        let config = try H5File.open(url.path).root.openGroup("config")
        #expect(try config.intsAttribute("labels") == [4, 0, 17])
        #expect(try config.stringAttribute("label_set") == "coarse")
        #expect(try config.stringAttribute("data_format") == "cifar-100")
        #expect(try config.stringAttribute("data_md5") == "03b5dce01913d631647c71ecec9e9cb8")
    }

    @Test("the phase 1 recipe in words names the schedule and every rate (the report and the training log show it)")
    func recipeDescription() {
        var cosine = RunConfiguration(preset: "vgg6", notation: "64 M", epochs: 30, weightDecay: 0.001)
        cosine.learningRateSchedule = .cosine
        #expect(cosine.recipeDescription == "30 epochs, batch 100, lr 0.05 cosine down to 0, warm-up 500 batches, "
                + "momentum 0.9 (Nesterov), weight decay 0.001, augmentation flip + shift 4 (zero fill), "
                + "convolutions initialized pytorch-default")
        var step = RunConfiguration(preset: "vgg6", notation: "64 M", epochs: 12, learningRateDecayEvery: 2, augment: false)
        step.learningRateSchedule = nil   // a run.h5 written before schedules existed: the step schedule
        step.convolutionInitialization = nil   // nor the initialization: He normal
        #expect(step.recipeDescription.hasPrefix("12 epochs, batch 100, lr 0.05 x0.6 every 2 epochs, "))
        #expect(step.recipeDescription.hasSuffix("weight decay 0.0005, augmentation none, convolutions initialized he-normal"))
    }

    @Test("the convolution initialization and the shift fill: [L]'s by default, recorded in /config, and what older runs used")
    func initializationAndFill() throws {
        #expect(configuration.convolutionInitialization == "pytorch-default" && configuration.shiftFill == .zero)
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var chosen = configuration
        chosen.convolutionInitialization = "he-normal"
        chosen.shiftFill = .black
        for (recorded, initialization, fill) in [(configuration, "pytorch-default", "zero"), (chosen, "he-normal", "black")] {
            let url = folder.appendingPathComponent("\(fill)-\(RunLayout.runFile)")
            let writer = try RunFileWriter(creating: url)
            try writer.writeHeader(configuration: recorded, labelNames: ["a", "b"], provenance: [:])
            try writer.commit()
            #expect(try RunFileReader(url).configuration() == recorded)
            let config = try H5File.open(url.path).root.openGroup("config")
            #expect(try config.stringAttribute("conv_init") == initialization)
            #expect(try config.stringAttribute("shift_fill") == fill)
        }
        // A run.h5 or checkpoint written before the choices were recorded: He normal and black, as those runs trained.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as! [String: Any]
        for key in ["convolutionInitialization", "shiftFill"] { json.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(RunConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.convolutionInitialization == nil && old.shiftFill == nil)
        #expect(old.convolutionInitializationUsed == "he-normal" && old.shiftFillUsed == .black)
    }

    @Test("a configuration written before label subsets reads as all labels of CIFAR-10")
    func olderConfiguration() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as! [String: Any]
        for key in ["labels", "labelSet", "dataFormat", "dataMD5"] { json.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(RunConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.labels == nil && old.dataFormat == nil)
        #expect(old.sourceLabels == Array(0..<10))
        #expect(old == configuration)
    }

    @Test("a missing, foreign, truncated or newer file is refused with its name")
    func refusesBadFiles() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.h5")
        #expect(throws: RunStoreError.self) { try RunFileReader(missing) }

        let text = folder.appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: text)
        let notHDF5 = #expect(throws: RunStoreError.self) { try RunFileReader(text) }
        #expect(notHDF5?.description.contains(text.path) == true)

        let foreign = folder.appendingPathComponent("foreign.h5")
        do { let file = try H5File.create(foreign.path); try file.root.write("x", [Float(1)], shape: [1]) }
        let noFormat = #expect(throws: RunStoreError.self) { try RunFileReader(foreign) }
        #expect(noFormat?.description.contains("format") == true)

        let newer = folder.appendingPathComponent("newer.h5")
        do {
            let file = try H5File.create(newer.path)
            try file.root.setAttribute("format", RunLayout.runFormat)
            try file.root.setAttribute("format_version", RunLayout.version + 1)
        }
        let version = #expect(throws: RunStoreError.self) { try RunFileReader(newer) }
        #expect(version?.description.contains("update FilterLens") == true)

        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: configuration, labelNames: ["a", "b"], provenance: [:])
        try writer.commit()
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        let truncated = folder.appendingPathComponent("truncated.h5")
        try FileManager.default.copyItem(at: url, to: truncated)
        let handle = try FileHandle(forWritingTo: truncated)
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        #expect(throws: RunStoreError.self) { try RunFileReader(truncated) }

        let probes = try ProbeFileWriter(creating: folder.appendingPathComponent(RunLayout.probeFile), runID: try RunFileReader(url).identity)
        try probes.commit()
        let noHead = #expect(throws: RunStoreError.self) { try ProbeSource.open(for: RunFileReader(url)).probe(layer: 3, labelCount: 2) }
        #expect(noHead?.description.contains("probe.h5 [/layer03]") == true)
    }
}

@Suite("activations.h5 and checkpoint.h5")
struct ActivationsAndCheckpointTests {
    @Test("activations stream in batches and read back by block")
    func activations() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.activationsFile)
        let shapes = [BlockShape(channels: 2, height: 3, width: 3), BlockShape(channels: 4, height: 1, width: 1)]
        let writer = try ActivationsWriter(creating: url, labels: [0, 1, 2, 0, 1], shapes: shapes)
        for start in stride(from: 0, to: 5, by: 2) {
            let batch = min(2, 5 - start)
            for (index, shape) in shapes.enumerated() {
                let values = (0..<(batch * shape.count)).map { Float(start * shape.count + $0) }
                try values.withUnsafeBufferPointer { try writer.write(layer: index + 1, start: start, batch: batch, values: $0) }
            }
        }
        try writer.commit()
        let reader = try ActivationsReader(url)
        #expect(reader.count == 5 && reader.labels == [0, 1, 2, 0, 1] && reader.layers == [1, 2])
        #expect(try reader.shape(layer: 1) == shapes[0])
        var buffer = [Float](repeating: 0, count: 3 * 18)
        try buffer.withUnsafeMutableBufferPointer { try reader.read(layer: 1, start: 1, batch: 3, into: $0) }
        #expect(buffer == (18..<72).map(Float.init))
        let file = try H5File.open(url.path)
        #expect(try file.root.openDataset("layer01").dimensionLabels() == ["image", "channel", "height", "width"])
    }

    @Test("a checkpoint round trips and is written atomically")
    func checkpoint() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.checkpointFile)
        let configuration = RunConfiguration(preset: "tiny", notation: "8 M", epochs: 3)
        let parameters: [Float] = [1, 2, 3]
        let cursor = EpochCursor(epoch: 1, imagesDone: 300, lossSums: [0.1 + 0.2, 1e-300, 123456.789012345678], correct: 77,
                                 seconds: 1.5)
        let checkpoint = Checkpoint(configuration: configuration, completedEpochs: 1, metrics: [], buffers: [:], cursor: cursor)
        try parameters.withUnsafeBufferPointer { try CheckpointFile.save(checkpoint, to: url, buffers: [("parameters", $0)]) }
        let read = try CheckpointFile.load(from: url)
        #expect(read.configuration == configuration && read.completedEpochs == 1 && read.buffers["parameters"] == parameters)
        #expect(read.cursor == cursor, "the position inside an epoch, with its Double sums, round trips exactly")
        let between = Checkpoint(configuration: configuration, completedEpochs: 2, metrics: [], buffers: [:])
        try CheckpointFile.save(between, to: url, buffers: [])
        #expect(try CheckpointFile.load(from: url).cursor == nil)
    }

    @Test("per-layer phase 2 learning rates: recorded in probe.h5's /recipe and in checkpoints, applied per layer")
    func layerLearningRates() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = ProbeConfiguration(epochs: 3, learningRate: 0.001, learningRateDecay: 0.5, layerLearningRates: [0.001, 0.01])
        #expect(recipe.learningRate(layer: 1, epoch: 0) == 0.001 && recipe.learningRate(layer: 2, epoch: 2) == 0.0025)
        #expect(ProbeConfiguration(learningRate: 0.02).learningRate(layer: 5, epoch: 0) == 0.02)
        #expect(recipe.differences(from: ProbeConfiguration(epochs: 3, learningRate: 0.001, learningRateDecay: 0.5))
            == ["per-layer learning rates: [0.001, 0.01] vs []"])

        let url = folder.appendingPathComponent(RunLayout.runFile)
        let writer = try RunFileWriter(creating: url)
        try writer.writeHeader(configuration: RunConfiguration(preset: "tiny", notation: "8 M 16 M", epochs: 2),
                               labelNames: ["a", "b"], provenance: [:])
        try writer.commit()
        let probes = try ProbeFileWriter(creating: folder.appendingPathComponent(RunLayout.probeFile), runID: try RunFileReader(url).identity)
        try probes.writeRecipe(recipe, seed: 3)
        try probes.commit()
        #expect(try ProbeSource.open(for: RunFileReader(url)).recipe() == recipe)

        let probeURL = folder.appendingPathComponent(RunLayout.probeCheckpointFile)
        let progress = ProbeCheckpoint.Progress(recipe: recipe, seed: 1, history: [[], []])
        try [Float(1)].withUnsafeBufferPointer { try ProbeCheckpointFile.save(progress, cursor: nil, to: probeURL, buffers: [("head01.weight", $0)]) }
        let loaded = try ProbeCheckpointFile.load(from: probeURL).progress
        #expect(loaded.recipe == recipe && loaded.epochSeconds == nil, "a checkpoint without epoch timings (older ones) reads as nil")
    }

    @Test("phase 2 and phase 3 checkpoints round trip; a foreign file is refused with its name")
    func laterPhaseCheckpoints() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let probeURL = folder.appendingPathComponent(RunLayout.probeCheckpointFile)
        let progress = ProbeCheckpoint.Progress(recipe: ProbeConfiguration(epochs: 3), seed: UInt64.max - 1,
                                                history: [[ProbeEpoch(epoch: 1, trainLoss: 0.5, testSR: 0.25)], [ProbeEpoch(epoch: 1, trainLoss: 0.7, testSR: 0.2)]],
                                                epochSeconds: [41.5])
        let weight: [Float] = [0.5, -1, 3]
        try weight.withUnsafeBufferPointer { try ProbeCheckpointFile.save(progress, cursor: nil, to: probeURL, buffers: [("head01.weight", $0)]) }
        let probe = try ProbeCheckpointFile.load(from: probeURL)
        #expect(probe.progress == progress && probe.cursor == nil && probe.buffers["head01.weight"] == weight)

        let analysisURL = folder.appendingPathComponent(RunLayout.analysisCheckpointFile)
        let raw = (0..<(3 * 2 * 2)).map { Double($0) / 7 }
        try AnalysisCheckpointFile.save(AnalysisCheckpoint(sources: "run.h5 1 2", layers: [2: (3, 2, raw)]), to: analysisURL)
        let analysis = try AnalysisCheckpointFile.load(from: analysisURL)
        #expect(analysis.sources == "run.h5 1 2" && analysis.layers.keys.sorted() == [2] && analysis.layers[2]?.raw == raw)

        #expect(throws: RunStoreError.self) { try ProbeCheckpointFile.load(from: analysisURL) }
        do {
            _ = try AnalysisCheckpointFile.load(from: probeURL)
            Issue.record("a probe checkpoint read as an analysis checkpoint")
        } catch {
            #expect(error.description.contains(RunLayout.probeCheckpointFile) && error.description.contains("filterlens-probe-checkpoint"))
        }
    }

    @Test("the learning-rate schedule warms up, then steps")
    func schedule() {
        let configuration = RunConfiguration(preset: "x", notation: "8", epochs: 6, learningRate: 0.1,
                                             learningRateDecayFactor: 0.5, learningRateDecayEvery: 2, warmupBatches: 10)
        #expect(abs(configuration.learningRate(epoch: 0, batch: 0) - 0.01) < 1e-12)
        #expect(abs(configuration.learningRate(epoch: 0, batch: 9) - 0.1) < 1e-12)
        #expect(abs(configuration.learningRate(epoch: 1, batch: 100) - 0.1) < 1e-12)
        #expect(abs(configuration.learningRate(epoch: 2, batch: 200) - 0.05) < 1e-12)
        #expect(abs(configuration.learningRate(epoch: 5, batch: 500) - 0.025) < 1e-12)
        // Cosine and linear schedules: the full rate right after the warm-up, half way at the middle, 0 at the end.
        var cosine = configuration
        cosine.learningRateSchedule = .cosine
        let batches = cosine.epochs * 100
        let middle = cosine.warmupBatches + (batches - cosine.warmupBatches) / 2
        #expect(abs(cosine.learningRate(epoch: 0, batch: cosine.warmupBatches, batchesPerEpoch: 100) - 0.1) < 1e-12)
        #expect(abs(cosine.learningRate(epoch: 0, batch: middle, batchesPerEpoch: 100) - 0.05) < 1e-3)
        #expect(cosine.learningRate(epoch: cosine.epochs - 1, batch: batches, batchesPerEpoch: 100) < 1e-12)
        var linear = cosine
        linear.learningRateSchedule = .linear
        #expect(abs(linear.learningRate(epoch: 0, batch: middle, batchesPerEpoch: 100) - 0.05) < 1e-3)
        #expect(abs(linear.learningRate(epoch: 0, batch: 0, batchesPerEpoch: 100) - 0.01) < 1e-12, "warm-up unchanged")
    }
}
