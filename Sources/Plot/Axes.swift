import Foundation

/// A marker drawn at each data point.
public enum Marker: Sendable, Equatable { case none, circle, square, triangle, diamond }

/// Where an Axes puts its legend.
public enum LegendPosition: Sendable, Equatable {
    /// Inside the plot, in the corner or edge centre covering the fewest data (matplotlib's "best").
    case best
    case upperLeft, upperRight, lowerLeft, lowerRight
    /// Outside the plot, to its right (the layout makes room).
    case outsideRight
    /// No legend.
    case hidden
}

/// Which way a reference line runs.
public enum ReferenceOrientation: Sendable, Equatable { case horizontal, vertical }

/// A polyline through (x, y) points; non-finite points break the line (no segment drawn to or from them).
struct LineArtist {
    var x: [Double], y: [Double]
    var label: String?
    var color: Color
    /// Points; nil = the theme's line width.
    var width: Double?
    var dash: LineDash
    var marker: Marker
}

/// Unconnected markers; non-finite points are skipped.
struct ScatterArtist {
    var x: [Double], y: [Double]
    var label: String?
    var color: Color
    var size: Double
    var marker: Marker
}

/// Vertical bars from `bottom` to `bottom + height` at `positions` (data units); non-finite heights are skipped.
struct BarArtist {
    var positions: [Double], heights: [Double]
    var width: Double
    var bottom: Double
    var errors: [Double]?
    var label: String?
    var color: Color
    var edgeColor: Color?
    /// Per-bar names for the data table (categories, or histogram bins as "[lo, hi)").
    var names: [String]?
    var kind: String
}

/// A rows x columns matrix drawn as cells (row 0 at the top), with optional value annotations and colour bar.
struct HeatmapArtist {
    var values: [Double]
    var rows: Int, columns: Int
    var rowLabels: [String], columnLabels: [String]
    var colorMap: ColorMap
    var range: ClosedRange<Double>
    var annotate: Bool
    var format: (Double) -> String
    var colorBar: Bool
    var colorBarLabel: String?
}

/// A horizontal or vertical line across the whole plot area.
struct ReferenceArtist {
    var value: Double
    var orientation: ReferenceOrientation
    var label: String?
    var color: Color
    var width: Double
    var dash: LineDash
}

/// A text at a data position.
struct TextArtist {
    var x: Double, y: Double
    var text: String
    var horizontal: HorizontalAlignment, vertical: VerticalAlignment
    var color: Color
    var size: Double?
}

/// Everything an Axes can hold, in drawing order.
enum Artist {
    case line(LineArtist)
    case scatter(ScatterArtist)
    case bars(BarArtist)
    case heatmap(HeatmapArtist)
    case reference(ReferenceArtist)
    case text(TextArtist)
}

/// Explicit ticks: positions in data units and their labels.
struct ExplicitTicks {
    var positions: [Double]
    var labels: [String]
}

/// One plot panel of a `Figure` (like a matplotlib Axes): data artists, limits, ticks, labels and legend.
/// Non-finite values (NaN, +-inf) never crash: lines break at them, points and bars are skipped, heatmap cells
/// are drawn grey, histograms ignore them, and auto limits ignore them.
public final class Axes {
    /// Title above the plot.
    public var title: String?
    /// Label under the x axis.
    public var xLabel: String?
    /// Label left of the y axis.
    public var yLabel: String?
    /// Fixed x range in data units; nil = automatic (data range plus 5% margins).
    public var xLimits: ClosedRange<Double>?
    /// Fixed y range in data units; nil = automatic (data range plus 5% margins; bars start at their baseline).
    public var yLimits: ClosedRange<Double>?
    /// Where the legend goes (only series with a label appear; no legend when none has one).
    public var legendPosition: LegendPosition = .best
    /// Light grid lines at the numeric ticks (not at categorical ticks).
    public var showGrid = true

    var artists: [Artist] = []
    var xTicks: ExplicitTicks?
    var yTicks: ExplicitTicks?
    var yInverted = false
    var equalAspect = false
    var framed = false
    private var nextColor = 0

    init() {}

    /// The next colour of the default cycle (Tol's bright palette).
    private func cycleColor() -> Color {
        defer { nextColor += 1 }
        return Palette.cycle(nextColor)
    }

    /// A line through (x[i], y[i]); `x` and `y` have the same length. Width in points (theme default 1.5).
    public func plot(x: [Double], y: [Double], label: String? = nil, color: Color? = nil, width: Double? = nil,
                     dash: LineDash = .solid, marker: Marker = .none) {
        precondition(x.count == y.count, "plot: \(x.count) x values for \(y.count) y values")
        artists.append(.line(LineArtist(x: x, y: y, label: label, color: color ?? cycleColor(),
                                        width: width, dash: dash, marker: marker)))
    }

    /// A line through (i, y[i]) for i = 0, 1, ...
    public func plot(_ y: [Double], label: String? = nil, color: Color? = nil, width: Double? = nil,
                     dash: LineDash = .solid, marker: Marker = .none) {
        plot(x: y.indices.map(Double.init), y: y, label: label, color: color, width: width, dash: dash, marker: marker)
    }

    /// Markers at (x[i], y[i]); `size` is the marker diameter in points.
    public func scatter(x: [Double], y: [Double], label: String? = nil, color: Color? = nil, size: Double = 5,
                        marker: Marker = .circle) {
        precondition(x.count == y.count, "scatter: \(x.count) x values for \(y.count) y values")
        artists.append(.scatter(ScatterArtist(x: x, y: y, label: label, color: color ?? cycleColor(), size: size,
                                              marker: marker == .none ? .circle : marker)))
    }

    /// One bar per category at x = 0, 1, ...; the categories become the x tick labels (rotated when long).
    /// `errors` (optional, same length) draws +-error whiskers.
    public func bar(categories: [String], heights: [Double], label: String? = nil, color: Color? = nil,
                    errors: [Double]? = nil) {
        precondition(categories.count == heights.count, "bar: \(categories.count) categories for \(heights.count) heights")
        bar(positions: categories.indices.map(Double.init), heights: heights, label: label, color: color, errors: errors)
        setXTicks(categories.indices.map(Double.init), labels: categories)
        if case .bars(var bars) = artists.removeLast() { bars.names = categories; artists.append(.bars(bars)) }
    }

    /// Bars of `width` (data units) centred at `positions`, from `bottom` up to `bottom + heights[i]`.
    public func bar(positions: [Double], heights: [Double], width: Double = 0.8, bottom: Double = 0,
                    label: String? = nil, color: Color? = nil, errors: [Double]? = nil) {
        precondition(positions.count == heights.count, "bar: \(positions.count) positions for \(heights.count) heights")
        precondition(errors == nil || errors!.count == heights.count, "bar: errors must match heights")
        artists.append(.bars(BarArtist(positions: positions, heights: heights, width: width, bottom: bottom,
                                       errors: errors, label: label, color: color ?? cycleColor(), edgeColor: nil,
                                       names: nil, kind: "bar")))
    }

    /// Side-by-side bars: for each category, one bar per series (series[s].heights has one value per category),
    /// sharing 80% of the category's width; each series gets its own colour and legend entry.
    public func groupedBars(categories: [String], series: [(label: String, heights: [Double])], colors: [Color]? = nil) {
        let count = Double(max(series.count, 1))
        let barWidth = 0.8 / count
        for (index, entry) in series.enumerated() {
            precondition(entry.heights.count == categories.count,
                         "groupedBars: series '\(entry.label)' has \(entry.heights.count) values for \(categories.count) categories")
            let offset = (Double(index) - (count - 1) / 2) * barWidth
            bar(positions: categories.indices.map { Double($0) + offset }, heights: entry.heights, width: barWidth,
                label: entry.label, color: colors?[index % colors!.count])
            if case .bars(var bars) = artists.removeLast() { bars.names = categories; artists.append(.bars(bars)) }
        }
        setXTicks(categories.indices.map(Double.init), labels: categories)
    }

    /// A histogram of the finite `values` in `bins` equal bins over `range` (default: their min...max).
    /// Returns the bin edges (bins + 1) and counts (bins); values outside the range are not counted.
    @discardableResult
    public func histogram(_ values: [Double], bins: Int = 20, range: ClosedRange<Double>? = nil,
                          label: String? = nil, color: Color? = nil) -> (edges: [Double], counts: [Int]) {
        precondition(bins > 0, "histogram: bins must be positive")
        let finite = values.filter(\.isFinite)
        var lower = range?.lowerBound ?? finite.min() ?? 0
        var upper = range?.upperBound ?? finite.max() ?? 1
        if upper <= lower { lower -= 0.5; upper += 0.5 }
        let binWidth = (upper - lower) / Double(bins)
        let edges = (0...bins).map { $0 == bins ? upper : lower + Double($0) * binWidth }
        var counts = [Int](repeating: 0, count: bins)
        for value in finite where value >= lower && value <= upper {
            counts[min(bins - 1, Int((value - lower) / binWidth))] += 1
        }
        let names = (0..<bins).map { "[\(compactNumber(edges[$0], significant: 4)), \(compactNumber(edges[$0 + 1], significant: 4))\($0 == bins - 1 ? "]" : ")")" }
        artists.append(.bars(BarArtist(positions: (0..<bins).map { (edges[$0] + edges[$0 + 1]) / 2 },
                                       heights: counts.map(Double.init), width: binWidth, bottom: 0, errors: nil,
                                       label: label, color: color ?? cycleColor(), edgeColor: .white,
                                       names: names, kind: "histogram")))
        return (edges, counts)
    }

    /// A heatmap of `values` (rows x columns, row-major: values[r * columns + c]), row 0 at the top, square cells.
    /// Labels default to indices; `range` defaults to the finite min...max (use a symmetric range with
    /// `ColorMap.blueWhiteRed` for signed data). `annotate` writes each value in its cell using `format`.
    /// A colour bar (with `colorBarLabel`) is drawn to the right unless `colorBar` is false. `squareCells` keeps
    /// cells square (like matplotlib's imshow); false stretches them to fill the panel (for long, thin matrices).
    public func heatmap(_ values: [Double], rows: Int, columns: Int, rowLabels: [String]? = nil,
                        columnLabels: [String]? = nil, colorMap: ColorMap = .viridis, range: ClosedRange<Double>? = nil,
                        annotate: Bool = false, format: @escaping (Double) -> String = { compactNumber($0, significant: 2) },
                        colorBar: Bool = true, colorBarLabel: String? = nil, squareCells: Bool = true) {
        precondition(values.count == rows * columns, "heatmap: \(values.count) values for \(rows) x \(columns)")
        let rowNames = rowLabels ?? (0..<rows).map(String.init)
        let columnNames = columnLabels ?? (0..<columns).map(String.init)
        precondition(rowNames.count == rows && columnNames.count == columns, "heatmap: label counts must match the shape")
        let finite = values.filter(\.isFinite)
        var valueRange = range ?? ((finite.min() ?? 0)...(finite.max() ?? 1))
        if valueRange.upperBound <= valueRange.lowerBound {
            valueRange = (valueRange.lowerBound - 0.5)...(valueRange.upperBound + 0.5)
        }
        artists.append(.heatmap(HeatmapArtist(values: values, rows: rows, columns: columns, rowLabels: rowNames,
                                              columnLabels: columnNames, colorMap: colorMap, range: valueRange,
                                              annotate: annotate, format: format, colorBar: colorBar,
                                              colorBarLabel: colorBarLabel)))
        setXTicks((0..<columns).map(Double.init), labels: columnNames)
        setYTicks((0..<rows).map(Double.init), labels: rowNames)
        xLimits = -0.5...(Double(columns) - 0.5)
        yLimits = -0.5...(Double(rows) - 0.5)
        yInverted = true
        equalAspect = squareCells
        framed = true
        showGrid = false
    }

    /// A horizontal reference line at `y` across the plot (dashed grey by default), listed in the legend if labelled.
    public func axhline(y: Double, label: String? = nil, color: Color = .gray(0.35), width: Double = 1,
                        dash: LineDash = .dashed) {
        artists.append(.reference(ReferenceArtist(value: y, orientation: .horizontal, label: label, color: color,
                                                  width: width, dash: dash)))
    }

    /// A vertical reference line at `x` across the plot.
    public func axvline(x: Double, label: String? = nil, color: Color = .gray(0.35), width: Double = 1,
                        dash: LineDash = .dashed) {
        artists.append(.reference(ReferenceArtist(value: x, orientation: .vertical, label: label, color: color,
                                                  width: width, dash: dash)))
    }

    /// A text at data position (x, y); `size` in points (theme annotation size by default).
    public func text(x: Double, y: Double, _ string: String, horizontal: HorizontalAlignment = .left,
                     vertical: VerticalAlignment = .center, color: Color = .gray(0.1), size: Double? = nil) {
        artists.append(.text(TextArtist(x: x, y: y, text: string, horizontal: horizontal, vertical: vertical,
                                        color: color, size: size)))
    }

    /// Fixed x ticks at `positions` (data units) labelled `labels` (categorical axes); replaces automatic ticks.
    public func setXTicks(_ positions: [Double], labels: [String]) {
        precondition(positions.count == labels.count, "setXTicks: \(positions.count) positions for \(labels.count) labels")
        xTicks = ExplicitTicks(positions: positions, labels: labels)
    }

    /// Fixed y ticks at `positions` labelled `labels`; replaces automatic ticks.
    public func setYTicks(_ positions: [Double], labels: [String]) {
        precondition(positions.count == labels.count, "setYTicks: \(positions.count) positions for \(labels.count) labels")
        yTicks = ExplicitTicks(positions: positions, labels: labels)
    }

    /// Sets where the legend goes (same as assigning `legendPosition`).
    public func legend(_ position: LegendPosition = .best) { legendPosition = position }
}
