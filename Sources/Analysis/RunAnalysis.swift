import Foundation
import RunStore

/// Progress of the analysis: the layer at work (its place among the layers analysed), the current layer's images
/// streamed (activations.h5) and its filters analysed so far.
public struct AnalysisProgress: Sendable {
    public var layer: Int, layerCount: Int
    public var imagesDone: Int, imagesTotal: Int
    public var elapsed: Double
    /// Whether this layer's raw matrices were taken from `analysis-checkpoint.h5` instead of being computed.
    public var fromCheckpoint = false
    /// Filters of the layer analysed so far, of `filterCount` (0 of F while the images stream).
    public var filtersDone = 0, filterCount = 0
    /// Filters of every layer analysed, done so far (the layers before included) and in all: what rate and ETA use.
    public var allFiltersDone = 0, allFilters = 0
}

/// What phase 3 reads of the test set: the block outputs (`activations.h5`, streamed through the heads), or their
/// per-label field sums (`fields.h5`, written by filterlens-torch). Both give the same `FieldSums` per layer.
public enum TestSetSource {
    case activations(ActivationsReader)
    case fieldSums(FieldSumsReader)

    /// The source of the run in `directory`: `activations.h5` when present (as before fields.h5 existed), else
    /// `fields.h5`; neither is one error naming both. `readPath` is how `activations.h5` is read (`ActivationsReader`).
    public static func open(in directory: URL, readPath: ActivationsReadPath = .direct) throws(RunStoreError) -> TestSetSource {
        let activations = directory.appendingPathComponent(RunLayout.activationsFile)
        let fields = directory.appendingPathComponent(RunLayout.fieldsFile)
        if FileManager.default.fileExists(atPath: activations.path) { return .activations(try ActivationsReader(activations, readPath: readPath)) }
        if FileManager.default.fileExists(atPath: fields.path) { return .fieldSums(try FieldSumsReader(fields)) }
        throw RunStoreError(path: directory.path, problem: "neither \(RunLayout.activationsFile) nor \(RunLayout.fieldsFile) in the run",
                            fix: "run `filterlens train` (it writes \(RunLayout.activationsFile)) or write \(RunLayout.fieldsFile) with filterlens-torch's dissect (docs/hdf5-layout.md)")
    }

    /// The file read.
    public var url: URL {
        switch self {
        case .activations(let reader): URL(fileURLWithPath: reader.path)
        case .fieldSums(let reader): URL(fileURLWithPath: reader.path)
        }
    }

    /// Test images the analysis runs over.
    public var imageCount: Int {
        switch self {
        case .activations(let reader): reader.count
        case .fieldSums(let reader): reader.imageCount
        }
    }

    /// C x H x W of layer `layer`'s block output.
    public func shape(layer: Int) throws(RunStoreError) -> BlockShape {
        switch self {
        case .activations(let reader): try reader.shape(layer: layer)
        case .fieldSums(let reader): try reader.shape(layer: layer)
        }
    }

    /// The root attribute of analysis.h5 naming this source: `source_activations` or `source_fields`.
    var analysisAttribute: (String, String) {
        switch self {
        case .activations: ("source_activations", RunLayout.activationsFile)
        case .fieldSums: ("source_fields", RunLayout.fieldsFile)
        }
    }
}

/// Phase 3 over a whole run directory: reads `run.h5` (label names, network SR), phase 2's probes (`ProbeSource`:
/// probe.h5, or a version 1 run.h5's `/probe`) and the test set's `activations.h5` (block outputs) or `fields.h5`
/// (their per-label field sums), computes every layer's filter-label matrices, clusters and summaries, and writes
/// `analysis.h5` (phase 3's columns only: SR(l) stays in the probes' file) and `layers.csv` (SR(l) and phase 3's
/// columns).
public enum RunAnalysis {
    /// The phase 3 columns of the per-layer table (`LayerColumns.phaseThree`), in the order of `layers.csv` and `/summary`.
    public static func summaryColumns(_ summary: LayerSummary) -> [(name: String, value: Double)] {
        LayerColumns.phaseThree.map { ($0.name, summary.value($0)) }
    }

    /// The per-layer results kept for the table.
    public struct LayerResult: Sendable {
        public var layer: Int
        public var summary: LayerSummary
        public var probeSR: Double
        public var probeBestSR: Double
        public var sweep: [LayerSummary]
    }

    /// Analyses the run in `directory`; `sweepThresholds` are swept besides `parameters.threshold`. `progress` is told
    /// of every batch of every layer (and of each layer taken from the checkpoint); an error it throws ends the analysis.
    ///
    /// After each layer, its raw matrices go to `analysis-checkpoint.h5`; with `resume`, layers found there (computed
    /// from the same, unchanged run.h5, probe file and activations.h5 or fields.h5) are taken from it instead of
    /// streaming the activations again. The checkpoint is removed once analysis.h5 is written.
    ///
    /// `readPath` is how activations.h5 is read: `.direct` (direct chunk reads inflated on every core, for the
    /// layout FilterLens writes; HDF5's own reads for other layouts) or `.plain` (HDF5's reads throughout, for the
    /// tests that hold both paths to the same results, bit for bit).
    ///
    /// `topImages` (k) test images are kept per filter (`TopImagesAccumulator`) from activations.h5, in the same pass;
    /// a fields.h5 source gives the ones filterlens-torch kept (none when it holds none).
    ///
    /// `layers` limits the analysis to those layers (nil: every layer with a probe). A layer is analysed a block of
    /// filters at a time (`filterBlock`, on every core) and written to analysis.h5 as it goes, so the memory needed
    /// does not grow with its filters (but for activations.h5's field sums, L x C x L doubles per layer);
    /// `filterBlockBytes` sizes the blocks (`filterBlock`).
    @discardableResult
    public static func run(directory: URL, parameters: AnalysisParameters, sweepThresholds: [Double], batchSize: Int = 100,
                           resume: Bool = false, readPath: ActivationsReadPath = .direct, topImages: Int = TopImageRecord.defaultCount,
                           layers chosen: [Int]? = nil, filterBlockBytes: Int = 64 << 20,
                           progress: (AnalysisProgress) throws(RunStoreError) -> Void) throws(RunStoreError) -> [LayerResult] {
        let runURL = directory.appendingPathComponent(RunLayout.runFile)
        let run = try RunFileReader(runURL)
        let source = try TestSetSource.open(in: directory, readPath: readPath)
        let probes = try ProbeSource.open(for: run)
        let checkpointURL = directory.appendingPathComponent(RunLayout.analysisCheckpointFile)
        let sources = [runURL] + (probes.path == runURL.path ? [] : [URL(fileURLWithPath: probes.path)]) + [source.url]
        var checkpoint = AnalysisCheckpoint(sources: AnalysisCheckpoint.identity(of: sources), layers: [:])
        if resume, FileManager.default.fileExists(atPath: checkpointURL.path) {
            let saved = try AnalysisCheckpointFile.load(from: checkpointURL)
            if saved.sources == checkpoint.sources {
                checkpoint.layers = saved.layers
                checkpoint.topImages = saved.topImages
            }
        }
        let labelNames = try run.labelNames()
        let labelCount = labelNames.count
        let probed = try probes.layers()
        guard !probed.isEmpty else {
            throw RunStoreError(path: probes.path, problem: "no phase 2 probes", fix: "run `filterlens probe \(directory.path)` first")
        }
        let layers = chosen.map { Set($0).sorted() } ?? probed
        if let missing = layers.first(where: { !probed.contains($0) }) {
            throw RunStoreError(path: probes.path, problem: "layer \(missing) has no phase 2 probe (layers \(probed.map(String.init).joined(separator: ", ")) have)",
                                fix: "choose --layers among them")
        }
        switch source {
        case .activations(let activations):
            if let bad = activations.labels.first(where: { $0 < 0 || Int($0) >= labelCount }) {
                throw RunStoreError(path: activations.path, object: "/labels", problem: "label \(bad) outside 0..<\(labelCount)",
                                    fix: "the labels must index /@label_names of run.h5")
            }
        case .fieldSums(let fields):
            guard fields.imagesPerLabel.count == labelCount else {
                throw RunStoreError(path: fields.path, object: "/images_per_label",
                                    problem: "\(fields.imagesPerLabel.count) labels, but run.h5 names \(labelCount)",
                                    fix: "run.h5 and fields.h5 must come from the same dissection")
            }
        }
        let fullSR = try run.metrics().last?.testSR ?? .nan
        let thresholds = thresholdsSwept(parameters: parameters, sweepThresholds: sweepThresholds)
        let writer = try AnalysisFileWriter(
            creating: directory.appendingPathComponent(RunLayout.analysisFile), labelNames: labelNames,
            attributes: [("source_run", RunLayout.runFile), ("source_probe", probes.fileName), source.analysisAttribute,
                         ("top_images_definition", TopImageRecord.definition),
                         ("normalization", parameters.normalization.rawValue), ("snr_definition", AnalysisParameters.snrDefinition),
                         ("dataset", run.datasetName())],
            numbers: [("threshold", parameters.threshold), ("images", Double(source.imageCount))]
                + (topImageCount(of: source, asked: topImages).map { [("top_images", Double($0))] } ?? []))
        switch source {
        case .activations(let activations):
            var counts = [Int](repeating: 0, count: labelCount)
            for label in activations.labels { counts[Int(label)] += 1 }
            try writer.writeImagesPerLabel(counts)
        case .fieldSums(let fields):
            try writer.writeImagesPerLabel(fields.imagesPerLabel)
        }
        var results: [LayerResult] = []
        let start = Date()
        var allFilters = 0
        for layer in layers { allFilters += (try? source.shape(layer: layer))?.channels ?? 0 }   // a missing layer: its error below
        var filtersBefore = 0
        for layer in layers {
            let head: ProbeHead
            if case .fieldSums = source {
                head = try probes.probe(layer: layer, labelCount: labelCount, readingWeight: false)   // the sums hold its fields
            } else {
                head = try probes.probe(layer: layer, labelCount: labelCount)
            }
            let shape = try source.shape(layer: layer)
            guard shape == BlockShape(channels: head.channels, height: head.height, width: head.width) else {
                throw RunStoreError(path: source.url.path, object: "/" + RunLayout.layerName(layer),
                                    problem: "block shape \(shape.channels)x\(shape.height)x\(shape.width) differs from the head's \(head.channels)x\(head.height)x\(head.width)",
                                    fix: "\(probes.fileName) and \(source.url.lastPathComponent) must come from the same network")
            }
            let filters = shape.channels
            var report = AnalysisProgress(layer: layer, layerCount: layers.count, imagesDone: 0, imagesTotal: source.imageCount,
                                          elapsed: 0, filterCount: filters, allFiltersDone: filtersBefore, allFilters: allFilters)
            /// The raw matrices of a block of filters, n x L x L.
            let rawBlock: (Range<Int>) throws(RunStoreError) -> [Double]
            var top = checkpoint.topImages[layer]
            var topMatches = true   // activations.h5's layers are streamed again for another k
            if case .activations = source { topMatches = top?.count == topImages }
            if let saved = checkpoint.layers[layer], saved.filters == filters, saved.labels == labelCount, topMatches {
                let cells = labelCount * labelCount
                rawBlock = { block in Array(saved.raw[(block.lowerBound * cells)..<(block.upperBound * cells)]) }
                report.imagesDone = source.imageCount
                report.fromCheckpoint = true
                report.elapsed = Date().timeIntervalSince(start)
                try progress(report)
            } else {
                switch source {
                case .activations(let activations):
                    let (sums, streamed) = try streamFieldSums(layer: layer, layerCount: layers.count, head: head, shape: shape,
                                                               labelCount: labelCount, activations: activations, batchSize: batchSize,
                                                               topImages: topImages, start: start, template: report, progress: progress)
                    top = streamed
                    rawBlock = { block in sums.rawBlock(filters: block) }
                    checkpoint.layers[layer] = (filters, labelCount, sums.rawBlock(filters: 0..<filters))
                    checkpoint.topImages[layer] = top
                    try AnalysisCheckpointFile.save(checkpoint, to: checkpointURL)
                case .fieldSums(let fields):
                    top = try fields.topImages(layer: layer)
                    if let top, top.filters != shape.channels {
                        throw RunStoreError(path: fields.path, object: "/top_images/" + RunLayout.layerName(layer),
                                            problem: "\(top.filters) filters, but the layer has \(shape.channels)",
                                            fix: "write fields.h5 again with filterlens-torch's dissect")
                    }
                    // No checkpoint: fields.h5 already holds what it would (the sums), read a block at a time.
                    let counts = fields.imagesPerLabel
                    rawBlock = { (block: Range<Int>) throws(RunStoreError) -> [Double] in
                        FieldSums.rawBlock(sums: try fields.sums(layer: layer, filters: block), sumsFilters: block.count,
                                           firstFilter: 0, filters: block.count, countsPerLabel: counts)
                    }
                }
                report.imagesDone = source.imageCount
            }
            let layerWriter = try writer.beginLayer(layer, filterCount: filters, attributes: [
                ("channels", Double(shape.channels)), ("height", Double(shape.height)), ("width", Double(shape.width)),
            ])
            var summaries: [FilterSummary] = []
            var sweepSummaries = [[FilterSummary]](repeating: [], count: thresholds.count)
            let block = filterBlock(filters: filters, labels: labelCount, bytes: filterBlockBytes)
            var first = 0
            while first < filters {
                let range = first..<min(filters, first + block)
                let analysed = FilterBlockAnalysis(raw: try rawBlock(range), filters: range.count, labelCount: labelCount,
                                                   parameters: parameters, thresholds: thresholds)
                try layerWriter.write(filters: range, raw: analysed.raw, binary: analysed.binary, scale: analysed.scale,
                                      clusterOfLabel: analysed.clusterOfLabel)
                summaries += analysed.summaries
                for t in thresholds.indices { sweepSummaries[t] += analysed.sweep[t] }
                first = range.upperBound
                report.filtersDone = first
                report.allFiltersDone = filtersBefore + first
                report.elapsed = Date().timeIntervalSince(start)
                try progress(report)
            }
            try layerWriter.finish(
                filterIntegers: FilterColumns.all.filter { $0.storage == .integer }.map { column in
                    (column.name, Measures.values(column, of: summaries).map { Int32($0) })
                },
                filterReals: FilterColumns.all.filter { $0.storage == .real }.map { ($0.name, Measures.values($0, of: summaries)) },
                topImages: top)
            filtersBefore += filters
            let summary = LayerSummary(summaries: summaries, parameters: parameters)
            let sweep = thresholds.indices.map { t in
                LayerSummary(summaries: sweepSummaries[t],
                             parameters: AnalysisParameters(threshold: thresholds[t], normalization: parameters.normalization))
            }
            results.append(LayerResult(layer: layer, summary: summary, probeSR: head.finalSR, probeBestSR: head.bestSR, sweep: sweep))
        }
        let probeColumns: NamedColumns = [(LayerColumns.probeFinalSR.name, results.map(\.probeSR)),
                                          (LayerColumns.probeBestSR.name, results.map(\.probeBestSR))]
        var columns: NamedColumns = []
        for (index, column) in summaryColumns(results[0].summary).enumerated() {
            columns.append((column.name, results.map { summaryColumns($0.summary)[index].value }))
        }
        try writer.writeSummary(layers: layers, columns: columns,
                                clusterSizeHistogram: results.map { $0.summary.clusterSizeHistogram.map(Int32.init) },
                                dominantLabelShare: results.map(\.summary.dominantLabelShare),
                                attributes: [("sr_full_network", fullSR)])
        var sweepColumns: NamedColumns = []
        for (index, column) in summaryColumns(results[0].summary).enumerated() {
            sweepColumns.append((column.name, thresholds.indices.flatMap { t in results.map { summaryColumns($0.sweep[t])[index].value } }))
        }
        try writer.writeSweep(thresholds: thresholds, layers: layers, columns: sweepColumns)
        try writer.commit()
        try AtomicFile.write(Data(csv(layers: layers, columns: probeColumns + columns).utf8),
                             to: directory.appendingPathComponent("layers.csv"))
        try? FileManager.default.removeItem(at: checkpointURL)
        return results
    }

    /// The k recorded in analysis.h5's `@top_images`: `asked` for activations.h5, the one fields.h5 holds (nil: none).
    static func topImageCount(of source: TestSetSource, asked: Int) -> Int? {
        switch source {
        case .activations: asked
        case .fieldSums(let fields): fields.layers.lazy.compactMap { try? fields.topImages(layer: $0)?.count }.first
        }
    }

    /// Streams layer `layer`'s activations through a `FieldAccumulator` and a `TopImagesAccumulator` (`topImages`
    /// images a filter) and returns its field sums and top images; batch k + 1 is read while batch k is accumulated
    /// (`BlockReadAhead`).
    private static func streamFieldSums(layer: Int, layerCount: Int, head: ProbeHead, shape: BlockShape, labelCount: Int,
                                        activations: ActivationsReader, batchSize: Int, topImages: Int, start: Date,
                                        template: AnalysisProgress,
                                        progress: (AnalysisProgress) throws(RunStoreError) -> Void) throws(RunStoreError) -> (FieldSums, TopImageRecord) {
        let accumulator = FieldAccumulator(weights: head.weight, labelCount: labelCount, channels: shape.channels,
                                           height: shape.height, width: shape.width)
        let top = TopImagesAccumulator(channels: shape.channels, height: shape.height, width: shape.width, count: topImages)
        let readAhead = BlockReadAhead(activations: activations, layer: layer, shape: shape, batchSize: batchSize)
        defer { readAhead.finish() }
        while let (from, batch, values) = try readAhead.next() {
            activations.labels.withUnsafeBufferPointer { labels in
                accumulator.add(activations: values.baseAddress!, labels: labels.baseAddress! + from, batch: batch)
                top.add(activations: values.baseAddress!, labels: labels.baseAddress! + from, firstImage: from, batch: batch)
            }
            var report = template
            report.imagesDone = from + batch
            report.elapsed = Date().timeIntervalSince(start)
            try progress(report)
        }
        return (accumulator.fieldSums, top.record)
    }

    /// How the `analysis.h5` in `directory` departs from one made with `parameters` and `sweepThresholds`: nil when it
    /// was made with them, else a phrase naming what differs (e.g. "threshold 0.30, not 0.50") or why it can't be read.
    public static func departure(ofAnalysisIn directory: URL, from parameters: AnalysisParameters,
                                 sweepThresholds: [Double], topImages: Int = TopImageRecord.defaultCount) -> String? {
        let reader: AnalysisFileReader
        do { reader = try AnalysisFileReader(directory.appendingPathComponent(RunLayout.analysisFile)) } catch {
            return "it can't be read (\(error.problem))"
        }
        var differences: [String] = []
        let threshold = reader.number("threshold")
        if threshold != parameters.threshold {
            differences.append(String(format: "threshold %@, not %.2f", threshold.map { String(format: "%.2f", $0) } ?? "missing",
                                      parameters.threshold))
        }
        let normalization = reader.string("normalization")
        if normalization != parameters.normalization.rawValue {
            differences.append("\(normalization ?? "no") normalization, not \(parameters.normalization.rawValue)")
        }
        let wanted = thresholdsSwept(parameters: parameters, sweepThresholds: sweepThresholds)
        let swept = (try? reader.sweep("snr"))?.thresholds
        if swept != wanted {
            let list = { (values: [Double]) in values.map { String(format: "%.2f", $0) }.joined(separator: ",") }
            differences.append("sweep \(swept.map(list) ?? "missing"), not \(list(wanted))")
        }
        let readsActivations = FileManager.default.fileExists(atPath: directory.appendingPathComponent(RunLayout.activationsFile).path)
        if readsActivations, let kept = reader.number("top_images"), Int(kept) != topImages {
            differences.append("\(Int(kept)) top images a filter, not \(topImages)")
        }
        let missing = LayerColumns.phaseThree.map(\.name).filter { ((try? reader.summaryColumn($0)) ?? nil) == nil }
        if !missing.isEmpty { differences.append("made before the columns \(missing.joined(separator: ", ")) existed") }
        return differences.isEmpty ? nil : differences.joined(separator: "; ")
    }

    /// The thresholds of the sweep: `parameters.threshold` and `sweepThresholds`, without repeats, increasing.
    static func thresholdsSwept(parameters: AnalysisParameters, sweepThresholds: [Double]) -> [Double] {
        ([parameters.threshold] + sweepThresholds).reduce(into: [Double]()) { if !$0.contains($1) { $0.append($1) } }.sorted()
    }

    /// Filters analysed at once: as many L x L float64 matrices as fit in about 64 MB, at least two per core (so that
    /// every core has work), at most the layer.
    static func filterBlock(filters: Int, labels: Int, bytes: Int = 64 << 20) -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return min(filters, max(2 * cores, bytes / max(1, labels * labels * 8)))
    }

    /// The per-layer table as CSV: a header row, then one row per layer.
    public static func csv(layers: [Int], columns: NamedColumns) -> String {
        var lines = [(["layer"] + columns.map(\.name)).joined(separator: ",")]
        for (row, layer) in layers.enumerated() {
            lines.append(([String(layer)] + columns.map { format($0.values[row]) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.6g", value)
    }
}
