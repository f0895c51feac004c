import Foundation
import Plot
import RunStore

/// A figure of the report: its file stem, title, caption and the drawing.
public struct ReportFigure {
    /// File stem: the figure is written as <id>.pdf, <id>.png and <id>.csv.
    public var id: String
    /// Short title.
    public var title: String
    /// What it shows and how to read it.
    public var caption: String
    /// The drawing.
    public var figure: Figure
    /// The CSV written beside it; nil: the figure's own data table (`Figure.dataTable`).
    public var table: CSVTable?

    public init(id: String, title: String, caption: String, figure: Figure, table: CSVTable? = nil) {
        self.id = id
        self.title = title
        self.caption = caption
        self.figure = figure
        self.table = table
    }
}

/// Builds the figures of one run from its contents (no files touched here).
public enum RunFigures {
    /// Layer numbers as doubles, for x axes.
    static func x(_ layers: [Int]) -> [Double] { layers.map(Double.init) }

    /// Every figure of the run: learning curves, SR per layer, per-layer measures, distributions, probe curves.
    public static func overview(_ run: RunContents) -> [ReportFigure] {
        var figures: [ReportFigure] = []
        if !run.metrics.isEmpty { figures.append(learningCurves(run)) }
        figures.append(successRatePerLayer(run))
        figures.append(layerMeasures(run))
        figures.append(clusterSizes(run))
        figures.append(dominantLabels(run))
        if run.probes.contains(where: { !$0.epochs.isEmpty }) { figures.append(probeCurves(run)) }
        return figures
    }

    /// Phase 1: loss and success rate per epoch, training and test.
    public static func learningCurves(_ run: RunContents) -> ReportFigure {
        let figure = Figure(width: 9, height: 3.6)
        let panels = figure.subplots(rows: 1, columns: 2)
        let epochs = run.metrics.map { Double($0.epoch) }
        let loss = panels[0][0], sr = panels[0][1]
        loss.plot(x: epochs, y: run.metrics.map(\.trainLoss), label: "training", marker: .circle)
        loss.plot(x: epochs, y: run.metrics.map(\.testLoss), label: "test", marker: .square)
        loss.title = "Cross-entropy loss"
        loss.xLabel = "epoch"
        loss.yLabel = "loss"
        loss.legend(.upperRight)
        sr.plot(x: epochs, y: run.metrics.map(\.trainSR), label: "training", marker: .circle)
        sr.plot(x: epochs, y: run.metrics.map(\.testSR), label: "test", marker: .square)
        sr.title = "Success rate"
        sr.xLabel = "epoch"
        sr.yLabel = "SR"
        sr.legend(.lowerRight)
        if epochs.count <= 15 {
            for axes in [loss, sr] { axes.setXTicks(epochs, labels: run.metrics.map { String($0.epoch) }) }
        }
        return ReportFigure(id: "learning_curves", title: "Phase 1 learning curves", caption:
            "Mean training loss and success rate over each epoch (augmented batches, training-mode batch norm) and the test values after it.",
            figure: figure)
    }

    /// Phase 2: SR(l) per layer, with the full network's SR as a reference line.
    public static func successRatePerLayer(_ run: RunContents) -> ReportFigure {
        let figure = Figure(width: 6.4, height: 4.2)
        let axes = figure.addAxes()
        axes.plot(x: x(run.layers), y: run.column(LayerColumns.probeFinalSR.name), label: "SR(l), last epoch", marker: .circle)
        axes.plot(x: x(run.layers), y: run.column(LayerColumns.probeBestSR.name), label: "SR(l), best epoch (selected on test)",
                  dash: .dashed, marker: .none)
        if run.fullSR.isFinite { axes.axhline(y: run.fullSR, label: "full network") }
        axes.title = "Success rate of a new FC head on each frozen layer"
        axes.xLabel = "convolutional layer l"
        axes.yLabel = "test SR"
        axes.setXTicks(x(run.layers), labels: run.layers.map(String.init))
        axes.legend(.lowerRight)
        return ReportFigure(id: "sr_per_layer", title: "SR per layer (phase 2)", caption:
            "Each point is the test success rate of a bias-free FC head trained on the frozen block output of layer l. The dashed line is the full network's test SR.",
            figure: figure)
    }

    /// Phase 3: clusters per filter, cluster size, noise and signal, SNR per layer.
    public static func layerMeasures(_ run: RunContents) -> ReportFigure {
        let figure = Figure(width: 13, height: 6.4)
        let panels = figure.subplots(rows: 2, columns: 2)
        let layers = x(run.layers)
        let specs: [(Axes, String, [(String, String)])] = [
            (panels[0][0], "Clusters per filter", [(LayerColumns.clustersPerFilter.name, "mean")]),
            (panels[0][1], "Mean cluster size (labels)", [(LayerColumns.meanClusterSize.name, "mean")]),
            (panels[1][0], "Ones per filter", [(LayerColumns.meanNoise.name, "noise_f"),
                                                (LayerColumns.meanNoiseCluster.name, "noise_cluster"),
                                                (LayerColumns.meanNoiseWithZeros.name, "noise_f, no cluster = 0"),
                                                (LayerColumns.meanSignal.name, "signal")]),
            (panels[1][1], "SNR", [(LayerColumns.snr.name, "signal / noise_f"), (LayerColumns.snrCluster.name, "signal / noise_cluster"),
                                   (LayerColumns.snrI.name, "SNR-i")]),
        ]
        for (axes, title, series) in specs {
            for (column, label) in series where run.summary[column] != nil {   // files older than a column lack it
                axes.plot(x: layers, y: run.column(column), label: series.count > 1 ? label : nil, marker: .circle)
            }
            axes.title = title
            axes.xLabel = "layer"
            axes.setXTicks(layers, labels: run.layers.map(String.init))
            if series.count > 1 { axes.legend(.outsideRight) }   // inside, four series would cover a line
        }
        return ReportFigure(id: "layer_measures", title: "Clusters, noise and SNR per layer (phase 3)", caption:
            "Means over the filters with at least one cluster (the no-cluster-as-0 noise: over all filters; its SNR equals the first SNR by construction and is in the table), at threshold \(format(run.threshold)) with \(run.normalization) normalization. SNR: \(run.snrDefinition).",
            figure: figure)
    }

    /// A layers x columns table of shares as an annotated heatmap, one row per layer.
    static func layerHeatmap(_ run: RunContents, values: [Double], columnLabels: [String], range: ClosedRange<Double>,
                             title: String, xLabel: String, colorBarLabel: String, width: Double) -> Figure {
        // Up to 100 labels stay readable: the figure widens with the columns (about 0.12 in each), and cells are
        // annotated only while a number fits (up to 30 columns).
        // Past 100 labels the figure stops widening (16 in) and the axes thin the column names.
        let figure = Figure(width: min(16, max(width, 0.12 * Double(columnLabels.count) + 2.5)),
                            height: max(2.8, 0.32 * Double(run.layers.count) + 2))
        let axes = figure.addAxes()
        axes.heatmap(values, rows: run.layers.count, columns: columnLabels.count, rowLabels: run.layers.map { "layer \($0)" },
                     columnLabels: columnLabels, range: range, annotate: columnLabels.count <= 30, colorBarLabel: colorBarLabel,
                     squareCells: false)
        axes.title = title
        axes.xLabel = xLabel
        return figure
    }

    /// Phase 3: share of clusters of each size, per layer.
    public static func clusterSizes(_ run: RunContents) -> ReportFigure {
        // Sizes up to the largest cluster of any layer (at least 10, at most L): at 1,000 labels the sizes beyond
        // are empty columns.
        let largest = run.clusterSizeHistogram.map { row in (row.lastIndex { $0 > 0 } ?? 0) + 1 }.max() ?? 1
        let sizes = min(run.labelNames.count, max(10, largest))
        let shares = run.clusterSizeHistogram.flatMap { row in
            let total = row.reduce(0, +)
            return row.prefix(sizes).map { total > 0 ? $0 / total : .nan }
        }
        let figure = layerHeatmap(run, values: shares, columnLabels: (1...sizes).map(String.init), range: 0...1,
                                  title: "Cluster sizes per layer", xLabel: "cluster size (labels)",
                                  colorBarLabel: "share of the layer's clusters", width: 7)
        return ReportFigure(id: "cluster_sizes", title: "Histogram of cluster sizes", caption:
            "For each layer, the share of its clusters that hold 1, 2, ... labels (rows sum to 1; empty rows: no clusters).",
            figure: figure)
    }

    /// Phase 3: share of filters per dominant output label, per layer.
    public static func dominantLabels(_ run: RunContents) -> ReportFigure {
        let shares = run.dominantLabelShare.flatMap { $0 }
        let figure = layerHeatmap(run, values: shares, columnLabels: run.labelNames,
                                  range: 0...(shares.filter(\.isFinite).max() ?? 1), title: "Dominant output label of the filters",
                                  xLabel: "dominant output label", colorBarLabel: "share of filters", width: 8)
        return ReportFigure(id: "dominant_labels", title: "Filters per dominant output label", caption:
            "The dominant output label of a filter is the column with the largest mean of its filter-label matrix. Shares are over the layer's non-silent filters; an even spread is 1/\(run.labelNames.count).",
            figure: figure)
    }

    /// Phase 2: each head's training loss per epoch.
    public static func probeCurves(_ run: RunContents) -> ReportFigure {
        let figure = Figure(width: 6.4, height: 4.2)
        let axes = figure.addAxes()
        for head in run.probes {
            axes.plot(x: head.epochs.map { Double($0.epoch) }, y: head.epochs.map(\.trainLoss), label: "layer \(head.layer)",
                      marker: .circle)
        }
        axes.axhline(y: log(Double(max(run.labelNames.count, 2))), label: "chance (ln labels)")
        if let epochs = run.probes.first?.epochs, epochs.count <= 15 {
            axes.setXTicks(epochs.map { Double($0.epoch) }, labels: epochs.map { String($0.epoch) })
        }
        axes.title = "Training loss of the phase 2 heads"
        axes.xLabel = "epoch"
        axes.yLabel = "cross-entropy"
        axes.legend(.best)
        return ReportFigure(id: "probe_loss", title: "Phase 2 head training", caption:
            "A head whose loss rises in its last epoch or stays above chance level is flagged in the warnings: its SR(l) may understate the layer.",
            figure: figure)
    }

    /// The example filters of a layer (up to 4): the lowest, median and highest noise among the filters with clusters,
    /// and the one with the most clusters; filters in order fill the rest.
    public static func exampleFilters(noise: [Double], clusters: [Double]) -> [Int] {
        let order = noise.indices.filter { noise[$0].isFinite && clusters[$0] > 0 }.sorted { noise[$0] < noise[$1] }
        var chosen: [Int] = []
        if let low = order.first { chosen.append(low) }
        if !order.isEmpty { chosen.append(order[order.count / 2]) }
        if let high = order.last { chosen.append(high) }
        if let most = clusters.indices.max(by: { clusters[$0] < clusters[$1] }) { chosen.append(most) }
        chosen = chosen.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        for filter in 0..<noise.count where chosen.count < 4 && !chosen.contains(filter) { chosen.append(filter) }
        return Array(chosen.prefix(4))
    }

    /// Labels beyond which an example matrix is shown with its labels ordered by cluster, and the gallery shows
    /// thumbnails instead of whole matrices.
    public static let largeLabelCount = 30

    /// The label order of an example matrix: as given up to `largeLabelCount` labels; beyond, the labels of the
    /// filter's clusters first (cluster by cluster, in the order found), then the others in order, so that the
    /// cluster squares sit on the diagonal at the top left.
    public static func exampleOrder(clusterOfLabel: [Int32]) -> [Int] {
        guard clusterOfLabel.count > largeLabelCount else { return Array(clusterOfLabel.indices) }
        return clusterOfLabel.indices.sorted { a, b in
            let (ca, cb) = (clusterOfLabel[a] < 0 ? Int32.max : clusterOfLabel[a], clusterOfLabel[b] < 0 ? Int32.max : clusterOfLabel[b])
            return ca != cb ? ca < cb : a < b
        }
    }

    /// Side of a gallery thumbnail for L labels: L up to `largeLabelCount`, else `largeLabelCount` bins.
    public static func thumbnailSide(labels: Int) -> Int { min(labels, largeLabelCount) }

    /// The `side` x `side` thumbnail of an L x L matrix (row-major): the mean over each bin of about L / side
    /// consecutive labels in each direction (the matrix itself when side == L).
    public static func thumbnail(_ matrix: ArraySlice<Double>, labels: Int, side: Int) -> [Double] {
        let start = matrix.startIndex
        guard side < labels else { return Array(matrix) }
        var sums = [Double](repeating: 0, count: side * side), counts = [Double](repeating: 0, count: side * side)
        for i in 0..<labels {
            let row = i * side / labels
            for j in 0..<labels {
                let cell = row * side + j * side / labels
                sums[cell] += matrix[start + i * labels + j]
                counts[cell] += 1
            }
        }
        return zip(sums, counts).map { $0 / $1 }
    }

    /// One layer's figures: example filter-label matrices (`examples`: filter, its L x L normalized matrix and the
    /// label order to show it in), and the gallery of every filter's thumbnail (`thumbnails`: F x side x side,
    /// `thumbnail`: of the normalized matrices when side == L, else of the binary ones). Their CSVs list the filters shown and name the analysis.h5 datasets that hold the matrices:
    /// they never repeat analysis.h5's L x L x F.
    public static func layer(_ layer: Int, examples: [(filter: Int, matrix: [Double], order: [Int])], thumbnails: [Double],
                             thumbnailSide side: Int, filterCount: Int, noise: [Double], clusters: [Double],
                             run: RunContents) -> [ReportFigure] {
        let labels = run.labelNames.count
        let name = RunLayout.layerName(layer)
        let dataset = "analysis.h5:/layers/\(name)"
        let ordered = labels > largeLabelCount
        // Panels grow with the label count (about 0.09 in a label beyond 20, at most 8 in), so tick names stay legible
        // up to 100 labels; the axes thin the names when they would still collide.
        let grow = min(8, 2 * 0.09 * Double(max(0, labels - 20)))
        let figure = Figure(width: 10 + grow, height: 9 + grow)
        let grid = figure.subplots(rows: 2, columns: 2)
        var exampleTable = CSVTable(header: ["filter", "clusters", "noise", "labels_in_order_shown", "normalized_matrix"])
        for (slot, example) in examples.prefix(4).enumerated() {
            let axes = grid[slot / 2][slot % 2]
            let order = example.order
            var shown = [Double](repeating: 0, count: labels * labels)
            for (r, i) in order.enumerated() {
                for (c, j) in order.enumerated() { shown[r * labels + c] = example.matrix[i * labels + j] }
            }
            let names = order.map { run.labelNames[$0] }
            axes.heatmap(shown, rows: labels, columns: labels, rowLabels: names, columnLabels: names, colorMap: .viridis,
                         range: -1...1, annotate: false, colorBar: slot % 2 == 1)
            axes.title = "filter \(example.filter): \(Int(clusters[example.filter])) cluster(s), noise \(Int(noise[example.filter]))"
            axes.xLabel = ordered ? "output label (by cluster)" : "output label"
            axes.yLabel = ordered ? "input label (by cluster)" : "input label"
            exampleTable.append([String(example.filter), CSVTable.number(clusters[example.filter]), CSVTable.number(noise[example.filter]),
                                 ordered ? order.map(String.init).joined(separator: " ") : "as in label_names",
                                 "\(dataset)/raw[\(example.filter)] normalized by scale[\(example.filter)] (docs/hdf5-layout.md)"])
        }
        for slot in examples.count..<4 { grid[slot / 2][slot % 2].title = "" }
        let columns = Int(Double(filterCount).squareRoot().rounded(.up))
        let rows = (filterCount + columns - 1) / columns
        let stride = side + 1
        var mosaic = [Double](repeating: .nan, count: rows * stride * columns * stride)
        for filter in 0..<filterCount {
            let top = (filter / columns) * stride, left = (filter % columns) * stride
            for i in 0..<side {
                for j in 0..<side {
                    mosaic[(top + i) * columns * stride + left + j] = thumbnails[(filter * side + i) * side + j]
                }
            }
        }
        let width = min(11.0, max(5.0, Double(columns) * 0.55))
        let gallery = Figure(width: width + 1.2, height: width * Double(rows) / Double(columns) + 1)
        let axes = gallery.addAxes()
        axes.heatmap(mosaic, rows: rows * stride, columns: columns * stride, colorMap: .viridis, range: side < labels ? 0...max(1e-3, thumbnails.filter(\.isFinite).max() ?? 1) : -1...1,
                     colorBarLabel: side < labels ? "share of bright elements per label bin" : "normalized field")
        axes.setXTicks([], labels: [])
        axes.setYTicks([], labels: [])
        axes.showGrid = false
        axes.title = "Layer \(layer): all \(filterCount) filters, row-major from the top left"
        var galleryTable = CSVTable(header: ["filter", "clusters", "noise", "raw_matrix", "binary_matrix"])
        for filter in 0..<filterCount {
            galleryTable.append([String(filter), CSVTable.number(clusters[filter]), CSVTable.number(noise[filter]),
                                 "\(dataset)/raw[\(filter)]", "\(dataset)/binary[\(filter)]"])
        }
        let exampleCaption = "Normalized filter-label matrices (rows: true input label, columns: output label) of the filters with the lowest, median and highest noise among those with clusters, and the one with the most clusters. Elements above \(format(run.threshold)) are bright."
            + (ordered ? " With \(labels) labels, each matrix shows its labels ordered by cluster (the cluster squares on the diagonal from the top left, then the labels in no cluster); tick names are thinned." : "")
        let galleryCaption = side < labels
            ? "Every filter's binary \(labels) x \(labels) matrix (normalized > \(format(run.threshold))) as a \(side) x \(side) thumbnail: the share of bright elements in bins of about \(labels / side) consecutive labels each way, labels in order, the colour scale up to the largest share. Tiled in filter order (filter 0 top left, row by row); grey gaps separate them. The matrices themselves are in \(dataset)."
            : "Every filter's normalized \(labels) x \(labels) matrix, tiled in filter order (filter 0 top left, row by row); grey gaps separate them."
        return [
            ReportFigure(id: "\(name)_examples", title: "Layer \(layer): example filter-label matrices", caption: exampleCaption,
                         figure: figure, table: exampleTable),
            ReportFigure(id: "\(name)_filters", title: "Layer \(layer): filter gallery", caption: galleryCaption,
                         figure: gallery, table: galleryTable),
        ]
    }

    static func format(_ value: Double) -> String {
        value.isFinite ? String(format: "%g", value) : "n/a"
    }
}
