import CIFAR
import Engine
import Foundation
import Pruning
import RunStore
import Testing

/// A tiny trained-looking run: a 2-conv network ("4 M 6 M", random weights) written as run.h5, with phase 2 probes in
/// probe.h5.
func makeTinyRun() throws -> (directory: URL, configuration: RunConfiguration) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-prune-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let configuration = RunConfiguration(preset: "custom", notation: "4 M 6 M", epochs: 1, batchSize: 8, seed: 3,
                                         trainImages: 24, testImages: 16)
    let architecture = try Architecture(notation: configuration.notation)
    let network = Network(architecture: architecture, maxBatch: 8, seed: 11)
    let writer = try RunFileWriter(creating: directory.appendingPathComponent(RunLayout.runFile))
    try writer.writeHeader(configuration: configuration, labelNames: (0..<10).map { "label\($0)" }, provenance: [:])
    for set in [network.parameters, network.statistics] {
        for view in set.views { try writer.writeParameter(name: view.name, shape: view.shape, values: UnsafeBufferPointer(set[view.name])) }
    }
    try writer.commit()
    let run = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
    let probes = try ProbeFileWriter(creating: directory.appendingPathComponent(RunLayout.probeFile), runID: run.identity)
    try probes.writeRecipe(ProbeConfiguration(epochs: 1, batchSize: 8, augment: false), seed: 1)
    for layer in 1...2 {
        let shape = architecture.blockOutputShape(layer: layer)
        let head = LinearHead(inputSize: shape.channels * shape.height * shape.width, labelCount: 10, maxBatch: 8, seed: UInt64(layer))
        try probes.writeProbe(ProbeHead(layer: layer, weight: head.weight.array, labelCount: 10, channels: shape.channels,
                                        height: shape.height, width: shape.width,
                                        epochs: [ProbeEpoch(epoch: 1, trainLoss: 2, testSR: 0.1)], lossFlag: "ok"))
    }
    try probes.commit()
    return (directory, configuration)
}

/// Images whose label sets the brightness, so a few steps move the weights.
func tinyImages(_ count: Int, seed: UInt8) -> LabeledImages {
    var pixels = [UInt8](repeating: 0, count: count * LabeledImages.pixelsPerImage)
    var labels = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        labels[index] = UInt8((index * 7 + Int(seed)) % 10)
        for offset in 0..<LabeledImages.pixelsPerImage {
            pixels[index * LabeledImages.pixelsPerImage + offset] = UInt8((Int(labels[index]) * 25 + offset * 13 + index) % 256)
        }
    }
    return LabeledImages(pixels: pixels, labels: labels)
}

/// Clusters of `filters` filters over 10 labels, varied: filter f takes labels f % 10 and (f + 3) % 10 when f % 3 != 2,
/// none otherwise.
func someClusters(_ filters: Int) -> FilterClusters {
    var rows = [Int32](repeating: -1, count: filters * 10)
    for f in 0..<filters where f % 3 != 2 {
        rows[f * 10 + f % 10] = 0
        rows[f * 10 + (f + 3) % 10] = 1
    }
    return FilterClusters(filterCount: filters, labelCount: 10, clusterOfLabel: rows)
}

@Suite("masked retraining")
struct MaskedRetrainingTests {
    @Test("masked weights stay exactly zero through retraining; kept weights train", arguments: [[1, 2], [2]])
    func maskedWeightsStayZero(layers: [Int]) throws {
        let (directory, configuration) = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reader = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
        let network = try PrunableNetwork(run: reader, probes: ProbeSource.open(for: reader), configuration: configuration, layers: layers, batchSize: 8)
        let recipe = RetrainRecipe(epochs: 2, learningRate: 0.05, learningRateDecay: 1, momentum: 0.9, weightDecay: 1e-3,
                                   batchSize: 8, augment: true, seed: 4)
        let experiment = PruneExperiment(network: network, recipe: recipe, train: tinyImages(24, seed: 1), test: tinyImages(16, seed: 2))
        let clusters = layers.map { someClusters(network.filters(of: $0)) }
        let shape = network.headInputShape
        let masks = PruneMasks.afcc(clusters, headHeight: shape.height, headWidth: shape.width)
        let model = network.makeModel(recipe: recipe)
        let headBefore = model.headWeights
        model.apply(head: masks.head, convolutions: masks.convolutions)
        #expect(model.maskedValues.allSatisfy { $0 == 0 })
        #expect(!model.maskedValues.isEmpty)
        let losses = try experiment.retrain(model, phase: "test") { _ in }
        #expect(losses.count == 2 && losses.allSatisfy(\.isFinite))
        #expect(model.maskedValues.allSatisfy { $0 == 0 }, "every masked weight (and the bias-free head's bias) is exactly 0")
        let head = model.headWeights
        for (index, keep) in masks.head.keep.enumerated() {
            if keep == 0 { #expect(head[index] == 0) }
        }
        let moved = masks.head.keep.indices.filter { masks.head.keep[$0] == 1 && head[$0] != headBefore[$0] }.count
        #expect(moved > 0, "kept head weights were retrained")
        if layers.count == 2 {
            let kernels = model.convolutionWeights(0)
            for (entry, keep) in masks.convolutions[0].keep.enumerated() where keep == 0 {
                #expect(kernels[(entry * 9)..<(entry * 9 + 9)].allSatisfy { $0 == 0 })
            }
            #expect(kernels.contains { $0 != 0 })
        }
        let sr = experiment.successRate(model)
        #expect(sr >= 0 && sr <= 1)
    }

    @Test("the unpruned model's SR is the phase 2 head's computation: prefix + head equals the full network's block output")
    func unprunedMatchesHead() throws {
        let (directory, configuration) = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reader = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
        let test = tinyImages(16, seed: 2)
        let recipe = RetrainRecipe(epochs: 0, learningRate: 0.01, learningRateDecay: 1, momentum: 0.9, weightDecay: 0,
                                   batchSize: 8, augment: false, seed: 1)
        let split = PruneExperiment(network: try PrunableNetwork(run: reader, probes: ProbeSource.open(for: reader), configuration: configuration, layers: [1, 2], batchSize: 8),
                                    recipe: recipe, train: test, test: test)
        let whole = PruneExperiment(network: try PrunableNetwork(run: reader, probes: ProbeSource.open(for: reader), configuration: configuration, layers: [2], batchSize: 8),
                                    recipe: recipe, train: test, test: test)
        #expect(split.successRate(split.network.makeModel(recipe: recipe)) == whole.successRate(whole.network.makeModel(recipe: recipe)))
    }

    @Test("the same seeds give the same masks, losses and SRs")
    func reproducible() throws {
        let (directory, configuration) = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reader = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
        let recipe = RetrainRecipe(epochs: 1, learningRate: 0.05, learningRateDecay: 1, momentum: 0.9, weightDecay: 1e-3,
                                   batchSize: 8, augment: true, seed: 4)
        func once() throws -> PrunedModelResult {
            let network = try PrunableNetwork(run: reader, probes: ProbeSource.open(for: reader), configuration: configuration, layers: [1, 2], batchSize: 8)
            let experiment = PruneExperiment(network: network, recipe: recipe, train: tinyImages(24, seed: 1), test: tinyImages(16, seed: 2))
            let afcc = PruneMasks.afcc([someClusters(4), someClusters(6)], headHeight: 8, headWidth: 8)
            return try experiment.measure(name: "control-seed7", masks: PruneMasks.control(of: afcc, seed: 7, headHeight: 8, headWidth: 8),
                                      controlSeed: 7) { _ in }
        }
        let (a, b) = (try once(), try once())
        #expect(a.masks!.all == b.masks!.all)
        #expect(a.retrainLoss == b.retrainLoss)
        #expect(a.srBefore == b.srBefore && a.srAfter == b.srAfter)
    }

    @Test("layers that are not consecutive are refused with the fix")
    func badLayers() throws {
        let (directory, configuration) = try makeTinyRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reader = try RunFileReader(directory.appendingPathComponent(RunLayout.runFile))
        #expect(throws: PruningError.self) { try PrunableNetwork(run: reader, probes: ProbeSource.open(for: reader), configuration: configuration, layers: [1, 3], batchSize: 8) }
    }
}
