import Foundation
import Plot
import PlotCairo
import RunStore

/// Writes a run's figures (PDF, PNG, CSV under `figures/`) and `report.html`.
public enum RunReport {
    /// Draws every figure and writes `report.html` into the run directory; returns its URL.
    ///
    /// `testImages` finds the test images the filters' top images index (the command line reads the run's test
    /// set); without it the copies filterlens-torch stored in fields.h5 are used when there are any, and the panels
    /// otherwise name the images they lack.
    public static func write(directory: URL, templates: TemplateSet, testImages: TestImageLookup? = nil,
                             explorerElements: Int = RunReport.explorerElements,
                             progress: (String) -> Void = { _ in }) throws -> URL {
        let run = try RunContents(directory: directory)
        let analysis = try AnalysisFileReader(directory.appendingPathComponent(RunLayout.analysisFile))
        let figuresDirectory = directory.appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: figuresDirectory, withIntermediateDirectories: true)
        var topIndices = Set<Int>()
        for layer in run.layers {
            if let top = try analysis.topImages(layer: layer) { topIndices.formUnion(top.indices.filter { $0 >= 0 }.map { Int($0) }) }
        }
        var imagePaths: [Int: String] = [:]
        if !topIndices.isEmpty, let lookup = try testImages ?? storedCopies(in: directory) {
            progress("top images (\(topIndices.count))")
            imagePaths = try FilterExplorer.writeImages(topIndices, lookup: lookup, directory: directory)
        }
        var overview: [[String: Any]] = []
        for figure in RunFigures.overview(run) {
            progress(figure.id)
            overview.append(try save(figure, in: figuresDirectory))
        }
        var layerSections: [[String: Any]] = []
        for (index, layer) in run.layers.enumerated() {
            progress(RunLayout.layerName(layer))
            let figures = try layerFigures(layer, analysis: analysis, run: run)
            let filters = try analysis.filterCount(layer: layer)
            let probe = run.probes.first { $0.layer == layer }
            var section: [String: Any] = [
                "layer": layer, "filters": filters, "open": index == run.layers.count - 1,
                "shape": probe.map { "\($0.channels) x \($0.height) x \($0.width)" } ?? "?",
                "sr": number(run.column(LayerColumns.probeFinalSR.name)[index]), "snr": number(run.column(LayerColumns.snr.name)[index]),
                "figures": try figures.map { try save($0, in: figuresDirectory) },
            ]
            // A key holding nil would still open the template's {{#explorer}} section: set it only when there is one.
            if let explorer = try explorer(layer, analysis: analysis, run: run, filters: filters, figures: figuresDirectory,
                                           images: imagePaths, largest: explorerElements) {
                section["explorer"] = explorer
            } else {
                let labels = run.labelNames.count
                section["explorerOmitted"] = "The per-filter explorer is left out for this layer: its \(filters) matrices of "
                    + "\(labels) x \(labels) would make the page's data about \(filters * labels * labels * 8 / 1_000_000) MB. "
                    + "Every filter's matrices, clusters and measures are in analysis.h5:/layers/\(RunLayout.layerName(layer))."
            }
            layerSections.append(section)
        }
        var values = context(run, overview: overview, layers: layerSections)
        values["explorerMeta"] = try FilterExplorer.meta(run: run, analysis: analysis)
        if let prune = try PruneSection.context(directory: directory, figures: figuresDirectory) {
            progress("prune_sr")
            values["prune"] = prune
        }
        let html = try templates.render("report", values)
        let url = directory.appendingPathComponent(RunLayout.reportFile)
        try AtomicFile.write(Data(html.utf8), to: url)
        return url
    }

    /// One layer's figures, reading its matrices a block of filters at a time: memory and time grow with F x L x L
    /// read once, not with what is drawn.
    static func layerFigures(_ layer: Int, analysis: AnalysisFileReader, run: RunContents) throws -> [ReportFigure] {
        let filters = try analysis.filterCount(layer: layer)
        let labels = run.labelNames.count
        let noise = try analysis.filterColumn(layer: layer, FilterColumns.noise.name)
        let clusters = try analysis.filterColumn(layer: layer, FilterColumns.clusterCount.name)
        let clusterOfLabel = try AnalysisFileReader.clusterOfLabel(URL(fileURLWithPath: analysis.path), layer: layer).values
        let examples = try RunFigures.exampleFilters(noise: noise, clusters: clusters).map { filter in
            (filter: filter, matrix: try analysis.matrices(layer: layer, "normalized", filters: filter..<(filter + 1)).values,
             order: RunFigures.exampleOrder(clusterOfLabel: Array(clusterOfLabel[(filter * labels)..<((filter + 1) * labels)])))
        }
        let side = RunFigures.thumbnailSide(labels: labels)
        let cells = labels * labels
        let block = max(1, min(filters, (64 << 20) / max(1, cells * 8)))
        var thumbnails: [Double] = []
        thumbnails.reserveCapacity(filters * side * side)
        var first = 0
        while first < filters {
            let range = first..<min(filters, first + block)
            // Whole matrices: normalized; thumbnails: the share of bright elements (binary) in each bin, which the
            // clusters and the noise count (a mean of normalized values over 1,000 labels is a flat grey).
            let values = try analysis.matrices(layer: layer, side < labels ? "binary" : "normalized", filters: range).values
            for k in 0..<range.count {
                thumbnails += RunFigures.thumbnail(values[(k * cells)..<((k + 1) * cells)], labels: labels, side: side)
            }
            first = range.upperBound
        }
        return RunFigures.layer(layer, examples: examples, thumbnails: thumbnails, thumbnailSide: side, filterCount: filters,
                                noise: noise, clusters: clusters, run: run)
    }

    /// Elements (F x L x L) up to which a layer gets the filter explorer: its page data hold every filter's normalized
    /// and binary matrices (about 8 bytes of JSON an element), so a layer of 512 filters at 1,000 labels would write
    /// GBs. Past it the layer section shows the figures only, and the matrices stay in analysis.h5.
    public static let explorerElements = 4_000_000

    /// The filter explorer of a layer of at most `largest` matrix elements (F x L x L), nil otherwise.
    static func explorer(_ layer: Int, analysis: AnalysisFileReader, run: RunContents, filters: Int, figures: URL,
                         images: [Int: String], largest: Int) throws -> [String: Any]? {
        let labels = run.labelNames.count
        guard filters * labels * labels <= largest else { return nil }
        let normalized = try analysis.matrices(layer: layer, "normalized").values
        return try FilterExplorer.layer(layer, analysis: analysis, run: run, normalized: normalized, filterCount: filters,
                                        figures: figures, images: images)
    }

    /// The small copies of test images filterlens-torch's `dissect` stored in the run's fields.h5, nil when none.
    static func storedCopies(in directory: URL) throws -> TestImageLookup? {
        let url = directory.appendingPathComponent(RunLayout.fieldsFile)
        guard FileManager.default.fileExists(atPath: url.path), let copies = try FieldSumsReader(url).imageCopies() else { return nil }
        let position = Dictionary(copies.indices.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let bytes = copies.height * copies.width * 3
        return { index in
            position[index].map { TestImage(height: copies.height, width: copies.width, rgb: Array(copies.pixels[($0 * bytes)..<(($0 + 1) * bytes)])) }
        }
    }

    /// Writes a figure's PDF, PNG and CSV; returns its template entry.
    static func save(_ figure: ReportFigure, in directory: URL) throws -> [String: Any] {
        let base = directory.appendingPathComponent(figure.id)
        try FigureWriter.write(figure.figure, pdf: base.appendingPathExtension("pdf"), png: base.appendingPathExtension("png"), dpi: 150)
        try AtomicFile.write(Data((figure.table ?? figure.figure.dataTable()).text.utf8), to: base.appendingPathExtension("csv"))
        let relative = "figures/" + figure.id
        return ["id": figure.id, "title": figure.title, "caption": figure.caption,
                "png": relative + ".png", "pdf": relative + ".pdf", "csv": relative + ".csv"]
    }

    /// A number for the report: 4 significant digits, "n/a" for NaN, "∞" for infinity.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "n/a" }
        if value.isInfinite { return value > 0 ? "∞" : "−∞" }
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    static func context(_ run: RunContents, overview: [[String: Any]], layers: [[String: Any]]) -> [String: Any] {
        let columns = run.summaryOrder
        let header: [[String: Any]] = [["name": "layer", "help": "convolutional layer, from the input"]]
            + columns.map { name in
                let column = LayerColumns.named(name)
                return ["name": column?.title ?? name, "help": column.map { "\($0.definition) [\($0.unit)]" } ?? ""]
            }
        let rows: [[String: Any]] = run.layers.indices.map { row in
            ["cells": [String(run.layers[row])] + columns.map { number(run.summary[$0]![row]) }]
        }
        var sweepRows: [[String: Any]] = []
        if let sweep = run.snrSweep {
            for (index, threshold) in sweep.thresholds.enumerated() {
                sweepRows.append(["cells": [number(threshold)] + sweep.rows[index].map(number)])
            }
        }
        var warnings: [String] = []
        for head in run.probes where head.lossFlag != "ok" {
            warnings.append("Layer \(head.layer)'s phase 2 head: \(head.lossFlag) (final training loss \(number(head.epochs.last?.trainLoss ?? .nan))); its SR(l) may understate the layer.")
        }
        if run.provenance["git_dirty"] == "yes" { warnings.append("The run was made from a checkout with uncommitted changes.") }
        let config = run.configuration
        var metadata: [(String, String)] = [("run directory", run.directory.path), ("data set", run.dataset)]
        if let config {
            let probe = run.probeRecipe ?? config.probe   // what the probes were trained with; the train-time default before phase 2
            metadata += [
                ("architecture", "\(config.preset): \(config.notation)" + (config.head.isEmpty ? "" : " + FC \(config.head)")),
                ("phase 1 recipe", config.recipeDescription),
                ("phase 2 recipe", "\(probe.epochs) epochs, lr \(probe.startingRatesDescription) x\(probe.learningRateDecay) per epoch, momentum \(probe.momentum), weight decay \(probe.weightDecay)"),
                ("images", "\(config.trainImages) training, \(config.testImages) test"),
                ("labels", "\(run.labelNames.count): " + zip(config.sourceLabels, run.labelNames).map { "\($1) (\($0))" }.joined(separator: ", ")
                    + (config.labelSet.map { ", \($0) label set" } ?? "")),
                ("data source", config.dataMD5.map { "MD5 \($0) of the archive the data were prepared from" } ?? "no archive checksum recorded"),
                ("seed", String(config.seed)),
                ("convolutions", config.convolutionAlgorithms?.joined(separator: ", ") ?? "im2col (recorded before the choice existed)"),
            ]
        }
        if !run.metrics.isEmpty {
            let seconds = run.metrics.reduce(0) { $0 + $1.seconds }
            let speed = run.metrics.map(\.imagesPerSecond).reduce(0, +) / Double(run.metrics.count)
            metadata.append(("phase 1 time", String(format: "%.0f s (%.0f training images/s on average)", seconds, speed)))
        }
        for key in ["dataset_md5", "command_line", "git_commit", "git_dirty", "started", "machine", "cpu_flags", "cpu_cores", "memory_gib", "openblas_core",
                    "openblas_threads", "openblas_coretype_env", "openblas_config", "hdf5_version", "cairo_version",
                    "swift_version", "filterlens_version"] {
            if let value = run.provenance[key], !value.isEmpty { metadata.append((key.replacingOccurrences(of: "_", with: " "), value)) }
        }
        let present = [RunLayout.runFile, RunLayout.probeFile, RunLayout.activationsFile, RunLayout.fieldsFile, RunLayout.analysisFile,
                       "layers.csv", RunLayout.pruneFile].filter {
            FileManager.default.fileExists(atPath: run.directory.appendingPathComponent($0).path)
        }
        let files = present.map { name -> [String: Any] in
            let size = (try? FileManager.default.attributesOfItem(atPath: run.directory.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            let about = [
                RunLayout.runFile: "configuration, provenance, phase 1 metrics, weights"
                    + (run.probeFile == RunLayout.runFile ? ", phase 2 probes (layout version 1)" : ""),
                RunLayout.probeFile: "phase 2 probes: recipe, one linear probe per layer with its per-epoch history",
                RunLayout.activationsFile: "test-set block outputs of every layer",
                RunLayout.fieldsFile: "per-label sums of every filter's output fields over the test set (filterlens-torch)",
                RunLayout.analysisFile: "filter-label matrices, clusters, per-layer table and threshold sweep",
                "layers.csv": "the per-layer table",
                RunLayout.pruneFile: "cluster-based pruning (AFCC) against its random control: masks, weights kept, SRs",
            ][name] ?? ""
            return ["name": name, "size": ByteCountFormatter.string(fromByteCount: Int64(size), countStyle: .file), "about": about]
        }
        let srColumn = run.column(LayerColumns.probeFinalSR.name)
        return [
            "runName": run.name, "dataset": run.dataset, "version": RunLayout.toolVersion,
            "architectureName": config.map { "\($0.preset) [\($0.notation)]" } ?? "A network",
            "fullSR": number(run.fullSR), "epochs": run.metrics.count,
            "firstLayerSR": number(srColumn.first ?? .nan), "lastLayerSR": number(srColumn.last ?? .nan),
            "layerCount": run.layers.count, "threshold": number(run.threshold), "normalization": run.normalization,
            "warnings": warnings, "hasWarnings": !warnings.isEmpty, "hasSweep": !sweepRows.isEmpty, "tableHeader": header, "tableRows": rows, "tableCSV": "layers.csv",
            "sweepHeader": run.layers.map { "layer \($0)" }, "sweepRows": sweepRows,
            "figures": overview, "layers": layers,
            "definitions": definitions(run), "metadata": metadata.map { ["key": $0.0, "value": $0.1] }, "files": files,
            "h5pySnippet": "import h5py; a = h5py.File(\"\(run.directory.path)/analysis.h5\"); print(dict(a[\"summary\"]), a[\"layers/layer01/raw\"].shape)",
            "generated": RunLayout.timestamp(),
        ]
    }

    static func definitions(_ run: RunContents) -> [[String: String]] {
        [
            ["term": "SR", "meaning": "Success rate: the fraction of test images whose highest output is their label."],
            ["term": "SR(l)", "meaning": "Test SR of a new bias-free FC head trained on the frozen block output of layer l (after batch norm, ReLU and its max-pool), reported after its last epoch."],
            ["term": "Filter-label matrix", "meaning": "For filter f: M[i, j] = mean over the test images of true label i of the field sum_{h,w} W[j, f, h, w] a[f, h, w], with every other weight of the head silenced."],
            ["term": "Normalization", "meaning": run.normalization == "max" ? "Divide M by its largest element; a filter whose largest element is not positive is silent." : "Subtract each column's mean over the input labels, then divide by the largest element."],
            ["term": "Threshold", "meaning": "An element is bright (1 in the binary matrix) when the normalized value exceeds \(number(run.threshold)) (strictly)."],
            ["term": "Clusters", "meaning": "Greedy in label order: a bright diagonal label starts a cluster; a later candidate joins when every element between the cluster's labels and it is bright."],
            ["term": "Signal, noise", "meaning": "Signal: the sum of squared cluster sizes (ones inside the cluster squares); noise: the remaining ones of the binary matrix."],
            ["term": "SNR", "meaning": run.snrDefinition + ". FilterLens's reading: the papers' exact formula is not at hand. Infinity when the noise is zero."],
            ["term": "Dominant output label", "meaning": "The column with the largest mean of the filter-label matrix."],
        ]
    }
}
