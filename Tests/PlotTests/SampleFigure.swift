import Foundation
import Plot

/// The CIFAR-10 label names, used as long categorical labels.
let cifarLabels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

/// A 2 x 2 figure exercising every artist: lines + legend, a 10 x 10 annotated heatmap with a colour bar,
/// a histogram, and bars with a reference line. Deterministic (no randomness).
func makeSampleFigure() -> Figure {
    let figure = Figure(width: 10, height: 8)
    figure.title = "FilterLens sample figure"
    let grid = figure.subplots(rows: 2, columns: 2)

    let lines = grid[0][0]
    let layers = (1...13).map(Double.init)
    lines.plot(x: layers, y: layers.map { 0.35 + 0.5 * (1 - exp(-$0 / 4)) }, label: "SR(l), last epoch", marker: .circle)
    lines.plot(x: layers, y: layers.map { 0.37 + 0.5 * (1 - exp(-$0 / 4)) }, label: "SR(l), best epoch", dash: .dashed)
    lines.axhline(y: 0.93, label: "full network")
    lines.title = "Success rate per layer"
    lines.xLabel = "layer l"
    lines.yLabel = "success rate"
    lines.legend(.best)

    let heat = grid[0][1]
    let matrix = (0..<100).map { index -> Double in
        let row = index / 10, column = index % 10
        return row == column ? 0.6 + 0.03 * Double(row) : 0.4 * Double((row * 7 + column * 3) % 10) / 10
    }
    heat.heatmap(matrix, rows: 10, columns: 10, rowLabels: cifarLabels, columnLabels: cifarLabels,
                 colorMap: .viridis, range: 0...1, annotate: true, colorBarLabel: "fraction")
    heat.title = "Confusion matrix"
    heat.xLabel = "predicted"
    heat.yLabel = "true label"

    let histogram = grid[1][0]
    let values = (0..<2000).map { index -> Double in
        let u = (Double(index) + 0.5) / 2000
        return 0.5 + 0.15 * sqrt(-2 * log(u)) * cos(2 * .pi * Double(index % 37) / 37)
    }
    histogram.histogram(values, bins: 30, label: "filters")
    histogram.title = "Histogram of filter scores"
    histogram.xLabel = "score"
    histogram.yLabel = "count"

    let bars = grid[1][1]
    bars.bar(categories: cifarLabels, heights: [0.95, 0.97, 0.88, 0.80, 0.92, 0.86, 0.95, 0.95, 0.96, 0.95],
             label: "per-label SR", errors: [0.01, 0.01, 0.02, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01])
    bars.axhline(y: 0.92, label: "mean")
    bars.title = "Per-label success rate"
    bars.yLabel = "success rate"
    bars.yLimits = 0...1.1
    bars.legend(.outsideRight)
    return figure
}
