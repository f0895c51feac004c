import Foundation

/// A linear map from a data interval to a page interval (points).
struct Scale {
    var lower: Double, upper: Double
    var start: Double, end: Double
    /// The page coordinate of data value `value`.
    func map(_ value: Double) -> Double { start + (value - lower) / (upper - lower) * (end - start) }
    /// Whether `value` lies in the data interval (with a relative tolerance).
    func covers(_ value: Double) -> Bool {
        let slack = (upper - lower) * 1e-9
        return value >= lower - slack && value <= upper + slack
    }
}

/// A text placed on the page, with the box it covers.
struct PlacedText {
    var text: String
    var anchor: Point
    var font: Font
    var color: Color
    var horizontal: HorizontalAlignment
    var vertical: VerticalAlignment
    var rotation: Double
    var bounds: Rect

    init(_ text: String, at anchor: Point, font: Font, color: Color, horizontal: HorizontalAlignment,
         vertical: VerticalAlignment, rotation: Double = 0, backend: DrawingBackend) {
        self.text = text; self.anchor = anchor; self.font = font; self.color = color
        self.horizontal = horizontal; self.vertical = vertical; self.rotation = rotation
        bounds = TextGeometry.bounds(backend.measureText(text, font: font), anchor: anchor, horizontal: horizontal,
                                     vertical: vertical, rotationDegrees: rotation)
    }

    func draw(on backend: DrawingBackend) {
        backend.drawText(text, at: anchor, font: font, color: color, horizontal: horizontal, vertical: vertical,
                         rotationDegrees: rotation)
    }
}

/// How a legend entry's handle looks.
enum LegendHandle {
    case line(StrokeStyle, Marker, markerSize: Double)
    case patch(Color)
    case marker(Color, Marker, size: Double)
}

/// A placed legend: its box and each entry's handle area and label.
struct LegendLayout {
    var box: Rect
    var entries: [(handle: LegendHandle, handleArea: Rect, label: PlacedText)]
}

/// The resolved geometry of one panel for a given allocated plot rectangle.
struct AxesLayout {
    /// The plot area (inside the axis lines); smaller than the allocated one for equal-aspect heatmaps.
    var plot: Rect
    var xScale: Scale, yScale: Scale
    /// Tick positions (data units) on each axis.
    var xTickValues: [Double], yTickValues: [Double]
    /// Whether grid lines belong at the ticks (numeric, automatic ticks).
    var xGrid: Bool, yGrid: Bool
    /// Tick labels, axis labels, title and colour-bar texts.
    var texts: [PlacedText] = []
    var colorBar: (rect: Rect, image: PixelImage, ticks: [Double], scale: Scale)?
    var legend: LegendLayout?
    /// Everything this panel draws, including what lies outside the plot area.
    var extent: Rect

    init(axes: Axes, allocated: Rect, theme: Theme, backend: DrawingBackend) {
        let limits = axes.resolvedLimits()
        var plot = allocated
        if axes.equalAspect {
            let unit = min(allocated.width / (limits.x.upper - limits.x.lower), allocated.height / (limits.y.upper - limits.y.lower))
            let width = unit * (limits.x.upper - limits.x.lower), height = unit * (limits.y.upper - limits.y.lower)
            plot = Rect(x: allocated.minX + (allocated.width - width) / 2, y: allocated.minY + (allocated.height - height) / 2,
                        width: width, height: height)
        }
        self.plot = plot
        xScale = Scale(lower: limits.x.lower, upper: limits.x.upper, start: plot.minX, end: plot.maxX)
        yScale = axes.yInverted
            ? Scale(lower: limits.y.lower, upper: limits.y.upper, start: plot.minY, end: plot.maxY)
            : Scale(lower: limits.y.lower, upper: limits.y.upper, start: plot.maxY, end: plot.minY)
        xTickValues = []; yTickValues = []
        xGrid = axes.showGrid && axes.xTicks == nil
        yGrid = axes.showGrid && axes.yTicks == nil
        extent = plot
        layOutXAxis(axes, theme: theme, backend: backend)
        layOutYAxis(axes, theme: theme, backend: backend)
        if let title = axes.title {
            texts.append(PlacedText(title, at: Point(x: plot.center.x, y: plot.minY - theme.titlePad),
                                    font: Font(size: theme.titleSize), color: theme.textColor,
                                    horizontal: .center, vertical: .bottom, backend: backend))
        }
        layOutColorBar(axes, theme: theme, backend: backend)
        for text in texts { extent = extent.union(text.bounds) }
        layOutLegend(axes, theme: theme, backend: backend)
        if let legend { extent = extent.union(legend.box) }
    }

    // MARK: Axes

    private mutating func layOutXAxis(_ axes: Axes, theme: Theme, backend: DrawingBackend) {
        let font = Font(size: theme.tickLabelSize)
        let top = plot.maxY + theme.tickLength + theme.tickPad
        var labels: [PlacedText] = []
        if let explicit = axes.xTicks {
            let shown = explicit.positions.indices.filter { xScale.covers(explicit.positions[$0]) }
            xTickValues = shown.map { explicit.positions[$0] }
            let names = shown.map { explicit.labels[$0] }
            let placement = Self.categoricalPlacement(names, positions: xTickValues.map(xScale.map), font: font,
                                                      rotatable: !names.allSatisfy { Double($0) != nil }, backend: backend)
            xTickValues = stride(from: 0, to: names.count, by: placement.stride).map { xTickValues[$0] }
            for (index, _) in names.enumerated() where index % placement.stride == 0 {
                let x = xScale.map(explicit.positions[shown[index]])
                let height = backend.measureText(names[index], font: font).height
                switch placement.rotation {
                case 0:
                    labels.append(PlacedText(names[index], at: Point(x: x, y: top), font: font, color: theme.textColor,
                                             horizontal: .center, vertical: .top, backend: backend))
                default:
                    let drop = placement.rotation == 90 ? 0 : height * 0.36
                    labels.append(PlacedText(names[index], at: Point(x: x, y: top + drop), font: font,
                                             color: theme.textColor, horizontal: .right, vertical: .center,
                                             rotation: placement.rotation, backend: backend))
                }
            }
        } else {
            var intervals = Self.maxIntervals(length: plot.width, perTick: theme.tickLabelSize * 3.2)
            while true {
                let ticks = NiceTicks(lower: xScale.lower, upper: xScale.upper, maxIntervals: intervals)
                labels = zip(ticks.values, ticks.labels).map { value, label in
                    PlacedText(label, at: Point(x: xScale.map(value), y: top), font: font, color: theme.textColor,
                               horizontal: .center, vertical: .top, backend: backend)
                }
                xTickValues = ticks.values
                let crowded = zip(labels, labels.dropFirst()).contains { $0.bounds.maxX + font.size * 0.6 > $1.bounds.minX }
                if !crowded || intervals <= 1 { break }
                intervals -= 1
            }
        }
        texts += labels
        let labelBottom = labels.map(\.bounds.maxY).max() ?? (plot.maxY + theme.tickLength)
        extent = extent.union(Rect(x: plot.minX, y: plot.maxY, width: plot.width, height: theme.tickLength))
        if let xLabel = axes.xLabel {
            texts.append(PlacedText(xLabel, at: Point(x: plot.center.x, y: labelBottom + theme.labelPad),
                                    font: Font(size: theme.axisLabelSize), color: theme.textColor,
                                    horizontal: .center, vertical: .top, backend: backend))
        }
    }

    private mutating func layOutYAxis(_ axes: Axes, theme: Theme, backend: DrawingBackend) {
        let font = Font(size: theme.tickLabelSize)
        let right = plot.minX - theme.tickLength - theme.tickPad
        var values: [Double] = [], names: [String] = []
        var step = 1
        if let explicit = axes.yTicks {
            let shown = explicit.positions.indices.filter { yScale.covers(explicit.positions[$0]) }
            values = shown.map { explicit.positions[$0] }
            names = shown.map { explicit.labels[$0] }
            let spacing = Self.minimumSpacing(values.map(yScale.map))
            let height = backend.measureText("0", font: font).height
            step = Self.thinning(spacing: spacing, needed: height * 1.1)
        } else {
            let ticks = NiceTicks(lower: yScale.lower, upper: yScale.upper,
                                  maxIntervals: Self.maxIntervals(length: plot.height, perTick: theme.tickLabelSize * 2.4))
            values = ticks.values
            names = ticks.labels
        }
        yTickValues = stride(from: 0, to: values.count, by: step).map { values[$0] }
        let labels = stride(from: 0, to: names.count, by: step).map { index in
            PlacedText(names[index], at: Point(x: right, y: yScale.map(values[index])), font: font,
                       color: theme.textColor, horizontal: .right, vertical: .center, backend: backend)
        }
        texts += labels
        extent = extent.union(Rect(x: plot.minX - theme.tickLength, y: plot.minY, width: theme.tickLength, height: plot.height))
        if let yLabel = axes.yLabel {
            let labelLeft = labels.map(\.bounds.minX).min() ?? (plot.minX - theme.tickLength)
            texts.append(PlacedText(yLabel, at: Point(x: labelLeft - theme.labelPad, y: plot.center.y),
                                    font: Font(size: theme.axisLabelSize), color: theme.textColor,
                                    horizontal: .center, vertical: .bottom, rotation: 90, backend: backend))
        }
    }

    /// matplotlib-like tick density: one interval per `perTick` points, between 2 and 9.
    private static func maxIntervals(length: Double, perTick: Double) -> Int {
        min(9, max(2, Int(length / perTick)))
    }

    /// The smallest gap between neighbouring page positions.
    private static func minimumSpacing(_ positions: [Double]) -> Double {
        let sorted = positions.sorted()
        return zip(sorted, sorted.dropFirst()).map { $1 - $0 }.min() ?? .infinity
    }

    /// Show every k-th label, k in 1, 2, 5, 10, 20, ..., so that labels `spacing` apart get `needed` room.
    private static func thinning(spacing: Double, needed: Double) -> Int {
        var candidates = [1, 2, 5]
        while candidates.last! < 100_000 { candidates.append(candidates[candidates.count - 3] * 10) }
        return candidates.first { Double($0) * spacing >= needed } ?? candidates.last!
    }

    /// Rotation (0, 45 or 90 degrees) and label stride for categorical x labels: horizontal when they fit,
    /// then rotated (if `rotatable`), then thinned.
    private static func categoricalPlacement(_ names: [String], positions: [Double], font: Font, rotatable: Bool,
                                             backend: DrawingBackend) -> (rotation: Double, stride: Int) {
        guard names.count > 1 else { return (0, 1) }
        let spacing = minimumSpacing(positions)
        let metrics = names.map { backend.measureText($0, font: font) }
        let widest = metrics.map(\.width).max() ?? 0
        let height = metrics.first?.height ?? font.size
        let gap = font.size * 0.5
        if widest + gap <= spacing { return (0, 1) }
        if !rotatable { return (0, thinning(spacing: spacing, needed: widest + gap)) }
        if spacing * sin(.pi / 4) >= height * 1.05 { return (45, 1) }
        return (90, thinning(spacing: spacing, needed: height * 1.1))
    }

    // MARK: Colour bar

    private mutating func layOutColorBar(_ axes: Axes, theme: Theme, backend: DrawingBackend) {
        guard let heatmap = axes.heatmaps.first(where: \.colorBar) else { return }
        let width = min(14, max(8, plot.height * 0.05))
        let rect = Rect(x: plot.maxX + max(8, plot.width * 0.03), y: plot.minY, width: width, height: plot.height)
        let steps = 256
        let pixels = (0..<steps).map { row in heatmap.colorMap.color(at: 1 - (Double(row) + 0.5) / Double(steps))! }
        let scale = Scale(lower: heatmap.range.lowerBound, upper: heatmap.range.upperBound, start: rect.maxY, end: rect.minY)
        let ticks = NiceTicks(lower: scale.lower, upper: scale.upper,
                              maxIntervals: Self.maxIntervals(length: rect.height, perTick: theme.tickLabelSize * 2.4))
        let font = Font(size: theme.tickLabelSize)
        let labels = zip(ticks.values, ticks.labels).map { value, label in
            PlacedText(label, at: Point(x: rect.maxX + theme.tickLength + theme.tickPad, y: scale.map(value)), font: font,
                       color: theme.textColor, horizontal: .left, vertical: .center, backend: backend)
        }
        texts += labels
        extent = extent.union(rect)
        if let name = heatmap.colorBarLabel {
            let labelRight = labels.map(\.bounds.maxX).max() ?? (rect.maxX + theme.tickLength)
            texts.append(PlacedText(name, at: Point(x: labelRight + theme.labelPad, y: rect.center.y),
                                    font: Font(size: theme.axisLabelSize), color: theme.textColor,
                                    horizontal: .center, vertical: .top, rotation: 90, backend: backend))
        }
        colorBar = (rect, PixelImage(columns: 1, rows: steps, pixels: pixels), ticks.values, scale)
    }

    // MARK: Legend

    private mutating func layOutLegend(_ axes: Axes, theme: Theme, backend: DrawingBackend) {
        let items = axes.legendItems(theme: theme)
        guard !items.isEmpty, axes.legendPosition != .hidden else { return }
        let font = Font(size: theme.legendSize)
        let em = font.size
        let pad = 0.5 * em, handleLength = 2 * em, handleGap = 0.8 * em, rowGap = 0.45 * em, inset = 0.6 * em
        let metrics = items.map { backend.measureText($0.label, font: font) }
        let rowHeight = metrics.map(\.height).max()!
        let width = 2 * pad + handleLength + handleGap + metrics.map(\.width).max()!
        let height = 2 * pad + Double(items.count) * rowHeight + Double(items.count - 1) * rowGap
        func box(_ position: LegendPosition) -> Rect {
            let left = plot.minX + inset, right = plot.maxX - inset - width
            let top = plot.minY + inset, bottom = plot.maxY - inset - height
            let middleX = plot.center.x - width / 2
            switch position {
            case .upperLeft: return Rect(x: left, y: top, width: width, height: height)
            case .lowerLeft: return Rect(x: left, y: bottom, width: width, height: height)
            case .lowerRight: return Rect(x: right, y: bottom, width: width, height: height)
            case .outsideRight:
                return Rect(x: max(plot.maxX, extent.maxX) + em, y: plot.minY, width: width, height: height)
            case .best:
                let candidates = [Rect(x: right, y: top, width: width, height: height), Rect(x: left, y: top, width: width, height: height),
                                  Rect(x: left, y: bottom, width: width, height: height), Rect(x: right, y: bottom, width: width, height: height),
                                  Rect(x: middleX, y: top, width: width, height: height), Rect(x: middleX, y: bottom, width: width, height: height)]
                let obstacles = axes.dataFootprint(xScale: xScale, yScale: yScale)
                let costs = candidates.map { candidate in
                    Double(obstacles.points.filter(candidate.contains).count)
                        + obstacles.rects.map { candidate.overlapArea($0) }.reduce(0, +) / max(1, candidate.width * candidate.height) * 100
                }
                return candidates[costs.indices.min { costs[$0] < costs[$1] }!]
            case .upperRight, .hidden: return Rect(x: right, y: top, width: width, height: height)
            }
        }
        let frame = box(axes.legendPosition)
        var entries: [(handle: LegendHandle, handleArea: Rect, label: PlacedText)] = []
        for (index, item) in items.enumerated() {
            let rowTop = frame.minY + pad + Double(index) * (rowHeight + rowGap)
            let handleArea = Rect(x: frame.minX + pad, y: rowTop, width: handleLength, height: rowHeight)
            let label = PlacedText(item.label, at: Point(x: handleArea.maxX + handleGap, y: rowTop + rowHeight / 2), font: font,
                                   color: theme.textColor, horizontal: .left, vertical: .center, backend: backend)
            entries.append((item.handle, handleArea, label))
        }
        legend = LegendLayout(box: frame, entries: entries)
    }
}

extension Axes {
    /// All heatmap artists.
    var heatmaps: [HeatmapArtist] {
        artists.compactMap { if case .heatmap(let heatmap) = $0 { return heatmap } else { return nil } }
    }

    /// The labelled series, in drawing order, with how their legend handles look.
    func legendItems(theme: Theme) -> [(label: String, handle: LegendHandle)] {
        artists.compactMap { artist in
            switch artist {
            case .line(let line):
                guard let label = line.label else { return nil }
                let style = StrokeStyle(color: line.color, width: line.width ?? theme.lineWidth,
                                        dash: line.dash.pattern(lineWidth: line.width ?? theme.lineWidth))
                return (label, .line(style, line.marker, markerSize: theme.markerSize))
            case .scatter(let scatter):
                guard let label = scatter.label else { return nil }
                return (label, .marker(scatter.color, scatter.marker, size: scatter.size))
            case .bars(let bars):
                guard let label = bars.label else { return nil }
                return (label, .patch(bars.color))
            case .reference(let line):
                guard let label = line.label else { return nil }
                return (label, .line(StrokeStyle(color: line.color, width: line.width,
                                                 dash: line.dash.pattern(lineWidth: line.width)), .none, markerSize: 0))
            case .heatmap, .text:
                return nil
            }
        }
    }

    /// Page-space points and rectangles covered by data, for choosing the legend position.
    func dataFootprint(xScale: Scale, yScale: Scale) -> (points: [Point], rects: [Rect]) {
        var points: [Point] = [], rects: [Rect] = []
        func page(_ x: Double, _ y: Double) -> Point { Point(x: xScale.map(x), y: yScale.map(y)) }
        for artist in artists {
            switch artist {
            case .line(let line):
                for index in line.x.indices where line.x[index].isFinite && line.y[index].isFinite {
                    points.append(page(line.x[index], line.y[index]))
                    let next = index + 1
                    guard next < line.x.count, line.x[next].isFinite, line.y[next].isFinite else { continue }
                    for step in 1..<8 {
                        let f = Double(step) / 8
                        points.append(page(line.x[index] + (line.x[next] - line.x[index]) * f,
                                           line.y[index] + (line.y[next] - line.y[index]) * f))
                    }
                }
            case .scatter(let scatter):
                for index in scatter.x.indices where scatter.x[index].isFinite && scatter.y[index].isFinite {
                    points.append(page(scatter.x[index], scatter.y[index]))
                }
            case .bars(let bars):
                for index in bars.positions.indices where bars.heights[index].isFinite && bars.positions[index].isFinite {
                    let a = page(bars.positions[index] - bars.width / 2, bars.bottom)
                    let b = page(bars.positions[index] + bars.width / 2, bars.bottom + bars.heights[index])
                    rects.append(Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y)))
                }
            case .reference(let line) where line.value.isFinite:
                for step in 0...20 {
                    let f = Double(step) / 20
                    points.append(line.orientation == .horizontal
                        ? Point(x: xScale.start + (xScale.end - xScale.start) * f, y: yScale.map(line.value))
                        : Point(x: xScale.map(line.value), y: yScale.start + (yScale.end - yScale.start) * f))
                }
            case .heatmap, .text, .reference:
                break
            }
        }
        return (points, rects)
    }

    /// The x and y limits: the set ones, or the finite data range plus 5% margins, never crossing a bar baseline
    /// or heatmap edge (matplotlib's "sticky edges"); a degenerate range is widened by 5% (or 0.05 around 0).
    func resolvedLimits() -> (x: (lower: Double, upper: Double), y: (lower: Double, upper: Double)) {
        var xs: [Double] = [], ys: [Double] = [], stickyX: [Double] = [], stickyY: [Double] = []
        for artist in artists {
            switch artist {
            case .line(let line):
                for i in line.x.indices where line.x[i].isFinite && line.y[i].isFinite { xs.append(line.x[i]); ys.append(line.y[i]) }
            case .scatter(let scatter):
                for i in scatter.x.indices where scatter.x[i].isFinite && scatter.y[i].isFinite {
                    xs.append(scatter.x[i]); ys.append(scatter.y[i])
                }
            case .bars(let bars):
                for i in bars.positions.indices where bars.positions[i].isFinite && bars.heights[i].isFinite {
                    xs += [bars.positions[i] - bars.width / 2, bars.positions[i] + bars.width / 2]
                    let error = bars.errors.map { abs($0[i]) }.flatMap { $0.isFinite ? $0 : nil } ?? 0
                    ys += [bars.bottom, bars.bottom + bars.heights[i] - error, bars.bottom + bars.heights[i] + error]
                }
                stickyY.append(bars.bottom)
                if bars.kind == "histogram", let first = bars.positions.first, let last = bars.positions.last {
                    stickyX += [first - bars.width / 2, last + bars.width / 2]
                }
            case .heatmap(let heatmap):
                xs += [-0.5, Double(heatmap.columns) - 0.5]; ys += [-0.5, Double(heatmap.rows) - 0.5]
                stickyX += [-0.5, Double(heatmap.columns) - 0.5]; stickyY += [-0.5, Double(heatmap.rows) - 0.5]
            case .reference(let line) where line.value.isFinite:
                if line.orientation == .horizontal { ys.append(line.value) } else { xs.append(line.value) }
            case .reference, .text:
                break
            }
        }
        func auto(_ values: [Double], sticky: [Double], fixed: ClosedRange<Double>?) -> (lower: Double, upper: Double) {
            if let fixed, fixed.upperBound > fixed.lowerBound { return (fixed.lowerBound, fixed.upperBound) }
            guard var lower = values.min(), var upper = values.max() else { return (0, 1) }
            if upper == lower {
                let delta = lower == 0 ? 0.05 : abs(lower) * 0.05
                return (lower - delta, upper + delta)
            }
            let margin = (upper - lower) * 0.05
            var low = lower - margin, high = upper + margin
            for edge in sticky {
                if edge <= lower && edge > low { low = edge }
                if edge >= upper && edge < high { high = edge }
            }
            (lower, upper) = (low, high)
            return (lower, upper)
        }
        return (auto(xs, sticky: stickyX, fixed: xLimits), auto(ys, sticky: stickyY, fixed: yLimits))
    }
}
