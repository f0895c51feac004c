import Foundation
import Plot
import RunStore

/// [B]'s label-count claim, measured: one run per label count, and the last layer's measures against the count.
public enum LabelSweep {
    /// One run of the sweep: its label count and contents.
    public struct Point {
        public var labelCount: Int
        public var run: RunContents

        public init(labelCount: Int, run: RunContents) {
            self.labelCount = labelCount
            self.run = run
        }

        /// A summary column's value at the last analysed layer.
        func last(_ column: String) -> Double { run.column(column).last ?? .nan }
    }

    /// The sweep's table, one row per label count: full-network SR and error, last layer's probe SR and error,
    /// clusters per filter, mean cluster size, mean noise, SNR, and the last layer's number.
    public static func table(_ points: [Point]) -> CSVTable {
        var table = CSVTable(header: ["labels", "full_sr", "full_error", "last_layer", LayerColumns.probeFinalSR.name, "probe_error",
                                      LayerColumns.clustersPerFilter.name, LayerColumns.meanClusterSize.name, LayerColumns.meanNoise.name, LayerColumns.snr.name, "chance_sr"])
        for point in points {
            let probe = point.last(LayerColumns.probeFinalSR.name)
            table.append([String(point.labelCount), CSVTable.number(point.run.fullSR), CSVTable.number(1 - point.run.fullSR),
                          String(point.run.layers.last ?? 0), CSVTable.number(probe), CSVTable.number(1 - probe),
                          CSVTable.number(point.last(LayerColumns.clustersPerFilter.name)), CSVTable.number(point.last(LayerColumns.meanClusterSize.name)),
                          CSVTable.number(point.last(LayerColumns.meanNoise.name)), CSVTable.number(point.last(LayerColumns.snr.name)),
                          CSVTable.number(1 / Double(point.labelCount))])
        }
        return table
    }

    /// The per-layer table in long form: one row per label count and layer.
    public static func layerTable(_ points: [Point]) -> CSVTable {
        let columns = [LayerColumns.probeFinalSR.name, LayerColumns.clustersPerFilter.name, LayerColumns.meanClusterSize.name, LayerColumns.meanNoise.name, LayerColumns.snr.name]
        var table = CSVTable(header: ["labels", "layer"] + columns)
        for point in points {
            for (index, layer) in point.run.layers.enumerated() {
                table.append([String(point.labelCount), String(layer)] + columns.map { CSVTable.number(point.run.column($0)[index]) })
            }
        }
        return table
    }

    /// The sweep figures: the last layer's measures against the label count, and each measure per layer, one line
    /// per count.
    public static func figures(_ points: [Point]) -> [ReportFigure] {
        let counts = points.map { Double($0.labelCount) }
        let figure = Figure(width: 9, height: 6.6)
        let panels = figure.subplots(rows: 2, columns: 2)
        let error = panels[0][0]
        error.plot(x: counts, y: points.map { 1 - $0.run.fullSR }, label: "full network", marker: .circle)
        error.plot(x: counts, y: points.map { 1 - $0.last(LayerColumns.probeFinalSR.name) }, label: "head on the last layer", marker: .square)
        error.plot(x: counts, y: points.map { 1 - 1 / Double($0.labelCount) }, label: "chance", dash: .dashed, marker: .none)
        error.title = "Test error rate"
        error.legend(.best)
        let specs: [(Axes, String, String)] = [
            (panels[0][1], LayerColumns.meanClusterSize.name, "Mean cluster size, last layer (labels)"),
            (panels[1][0], LayerColumns.clustersPerFilter.name, "Clusters per filter, last layer"),
            (panels[1][1], LayerColumns.snr.name, "SNR, last layer"),
        ]
        for (axes, column, title) in specs {
            axes.plot(x: counts, y: points.map { $0.last(column) }, marker: .circle)
            axes.title = title
        }
        for axes in panels.flatMap({ $0 }) {
            axes.xLabel = "labels"
            axes.setXTicks(counts, labels: points.map { String($0.labelCount) })
        }
        var result = [ReportFigure(id: "sweep_labels", title: "Against the number of labels", caption:
            "One run per label count (the first K labels of the data set), the same architecture, recipe and seed. [B] reports that at the last convolutional layer the mean cluster size and the clusters per filter hardly depend on the label count, while the error rate grows about linearly with it.",
            figure: figure)]
        for (column, title, axis) in [(LayerColumns.snr.name, "SNR per layer", "SNR"), (LayerColumns.meanClusterSize.name, "Mean cluster size per layer", "labels"),
                                      (LayerColumns.probeFinalSR.name, "SR per layer", "test SR(l)")] {
            let figure = Figure(width: 7, height: 4.4)
            let axes = figure.addAxes()
            for point in points {
                axes.plot(x: point.run.layers.map(Double.init), y: point.run.column(column), label: "\(point.labelCount) labels", marker: .circle)
            }
            axes.title = title
            axes.xLabel = "convolutional layer l"
            axes.yLabel = axis
            axes.legend(.outsideRight)
            let deepest = points.flatMap(\.run.layers).max() ?? 1
            if deepest <= 20 { axes.setXTicks((1...deepest).map(Double.init), labels: (1...deepest).map(String.init)) }
            result.append(ReportFigure(id: "sweep_\(column)_per_layer", title: title + " by label count", caption:
                "One line per label count.", figure: figure))
        }
        return result
    }
}
