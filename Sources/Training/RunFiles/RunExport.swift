import CIFAR
import Engine
import Foundation
import RunStore

extension Trainer {
    /// Writes `run.h5` into `directory`: header (with `labelNames`, one per run label, in label order), provenance,
    /// phase 1 metrics, and every parameter and batch-norm statistic by name.
    public func writeRunFile(to directory: URL, labelNames: [String], provenance: [String: String]) throws(RunStoreError) {
        precondition(labelNames.count == network.architecture.labelCount, "one name per label of the network")
        let writer = try RunFileWriter(creating: directory.appendingPathComponent(RunLayout.runFile))
        try writer.writeHeader(configuration: configuration, labelNames: labelNames, provenance: provenance)
        try writer.writeMetrics(metrics)
        for set in [network.parameters, network.statistics] {
            for view in set.views {
                try writer.writeParameter(name: view.name, shape: view.shape,
                                          values: UnsafeBufferPointer(set[view.name]))
            }
        }
        try writer.commit()
    }

    /// Streams the block output of every convolutional layer for `images` (in inference mode, in order) into
    /// `activations.h5` in `directory`, batch by batch.
    public func writeActivations(of images: LabeledImages, to directory: URL,
                                 progress: (BatchProgress) -> Void) throws(RunStoreError) {
        let architecture = network.architecture
        let shapes = (1...architecture.convolutionCount).map { layer in
            let shape = architecture.blockOutputShape(layer: layer)
            return BlockShape(channels: shape.channels, height: shape.height, width: shape.width)
        }
        let writer = try ActivationsWriter(creating: directory.appendingPathComponent(RunLayout.activationsFile),
                                           labels: images.labels.map { Int32($0) }, shapes: shapes)
        let start = Date()
        var done = 0
        try forEachBatch(of: images) { (batch, _) throws(RunStoreError) in
            for layer in 1...architecture.convolutionCount {
                try writer.write(layer: layer, start: done, batch: batch, values: network.blockOutput(layer: layer))
            }
            done += batch
            progress(BatchProgress(pass: .activations, epoch: completedEpochs, imagesDone: done, imagesTotal: images.count,
                                   elapsed: Date().timeIntervalSince(start), loss: .nan))
        }
        try writer.commit()
    }
}
