import Foundation

/// Draws one laid-out panel on a backend: grid, data (clipped to the plot area), axes, labels, colour bar, legend.
struct AxesPainter {
    let axes: Axes
    let layout: AxesLayout
    let theme: Theme
    let backend: DrawingBackend

    private var spine: StrokeStyle { StrokeStyle(color: theme.spineColor, width: theme.spineWidth, cap: .square) }

    func draw() {
        drawGrid()
        backend.pushClip(layout.plot)
        for artist in axes.artists { draw(artist) }
        backend.popClip()
        drawAxisLines()
        for text in layout.texts { text.draw(on: backend) }
        drawColorBar()
        drawLegend()
    }

    private func page(_ x: Double, _ y: Double) -> Point { Point(x: layout.xScale.map(x), y: layout.yScale.map(y)) }

    private func drawGrid() {
        var grid = Path()
        let plot = layout.plot
        if layout.xGrid {
            for value in layout.xTickValues {
                let x = layout.xScale.map(value)
                grid.move(to: Point(x: x, y: plot.minY)); grid.line(to: Point(x: x, y: plot.maxY))
            }
        }
        if layout.yGrid {
            for value in layout.yTickValues {
                let y = layout.yScale.map(value)
                grid.move(to: Point(x: plot.minX, y: y)); grid.line(to: Point(x: plot.maxX, y: y))
            }
        }
        if !grid.isEmpty { backend.stroke(grid, style: StrokeStyle(color: theme.gridColor, width: theme.gridWidth)) }
    }

    private func drawAxisLines() {
        let plot = layout.plot
        if axes.framed {
            backend.stroke(.rectangle(plot), style: spine)
        } else {
            var lines = Path()
            lines.move(to: Point(x: plot.minX, y: plot.minY)); lines.line(to: Point(x: plot.minX, y: plot.maxY))
            lines.line(to: Point(x: plot.maxX, y: plot.maxY))
            backend.stroke(lines, style: spine)
        }
        var ticks = Path()
        for value in layout.xTickValues {
            let x = layout.xScale.map(value)
            ticks.move(to: Point(x: x, y: plot.maxY)); ticks.line(to: Point(x: x, y: plot.maxY + theme.tickLength))
        }
        for value in layout.yTickValues {
            let y = layout.yScale.map(value)
            ticks.move(to: Point(x: plot.minX, y: y)); ticks.line(to: Point(x: plot.minX - theme.tickLength, y: y))
        }
        if !ticks.isEmpty { backend.stroke(ticks, style: StrokeStyle(color: theme.spineColor, width: theme.spineWidth)) }
    }

    private func draw(_ artist: Artist) {
        switch artist {
        case .line(let line): drawLine(line)
        case .scatter(let scatter):
            let points = scatter.x.indices.filter { scatter.x[$0].isFinite && scatter.y[$0].isFinite }
                .map { page(scatter.x[$0], scatter.y[$0]) }
            drawMarkers(scatter.marker, at: points, size: scatter.size, color: scatter.color)
        case .bars(let bars): drawBars(bars)
        case .heatmap(let heatmap): drawHeatmap(heatmap)
        case .reference(let line):
            guard line.value.isFinite else { return }
            let plot = layout.plot
            let path: Path = line.orientation == .horizontal
                ? .segment(Point(x: plot.minX, y: layout.yScale.map(line.value)), Point(x: plot.maxX, y: layout.yScale.map(line.value)))
                : .segment(Point(x: layout.xScale.map(line.value), y: plot.minY), Point(x: layout.xScale.map(line.value), y: plot.maxY))
            backend.stroke(path, style: StrokeStyle(color: line.color, width: line.width, dash: line.dash.pattern(lineWidth: line.width)))
        case .text(let note):
            guard note.x.isFinite, note.y.isFinite else { return }
            backend.drawText(note.text, at: page(note.x, note.y), font: Font(size: note.size ?? theme.annotationSize),
                             color: note.color, horizontal: note.horizontal, vertical: note.vertical, rotationDegrees: 0)
        }
    }

    private func drawLine(_ line: LineArtist) {
        let width = line.width ?? theme.lineWidth
        var path = Path()
        var penDown = false
        var points: [Point] = []
        for index in line.x.indices {
            guard line.x[index].isFinite, line.y[index].isFinite else { penDown = false; continue }
            let point = page(line.x[index], line.y[index])
            points.append(point)
            if penDown { path.line(to: point) } else { path.move(to: point); penDown = true }
        }
        if line.dash != .solid || points.count > 1 {
            backend.stroke(path, style: StrokeStyle(color: line.color, width: width, dash: line.dash.pattern(lineWidth: width),
                                                    cap: .round, join: .round))
        }
        if line.marker != .none { drawMarkers(line.marker, at: points, size: theme.markerSize, color: line.color) }
    }

    func drawMarkers(_ marker: Marker, at points: [Point], size: Double, color: Color) {
        guard !points.isEmpty, marker != .none else { return }
        var path = Path()
        let r = size / 2
        for p in points {
            switch marker {
            case .circle, .none: path.addCircle(center: p, radius: r)
            case .square: path.addRectangle(Rect(x: p.x - r * 0.9, y: p.y - r * 0.9, width: r * 1.8, height: r * 1.8))
            case .triangle:
                path.move(to: Point(x: p.x, y: p.y - r * 1.1)); path.line(to: Point(x: p.x + r, y: p.y + r * 0.7))
                path.line(to: Point(x: p.x - r, y: p.y + r * 0.7)); path.close()
            case .diamond:
                path.move(to: Point(x: p.x, y: p.y - r * 1.15)); path.line(to: Point(x: p.x + r * 0.85, y: p.y))
                path.line(to: Point(x: p.x, y: p.y + r * 1.15)); path.line(to: Point(x: p.x - r * 0.85, y: p.y)); path.close()
            }
        }
        backend.fill(path, color: color)
    }

    private func drawBars(_ bars: BarArtist) {
        var path = Path()
        var whiskers = Path()
        for index in bars.positions.indices where bars.positions[index].isFinite && bars.heights[index].isFinite {
            let a = page(bars.positions[index] - bars.width / 2, bars.bottom)
            let b = page(bars.positions[index] + bars.width / 2, bars.bottom + bars.heights[index])
            path.addRectangle(Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y)))
            if let error = bars.errors?[index], error.isFinite, error != 0 {
                let top = bars.bottom + bars.heights[index]
                let x = layout.xScale.map(bars.positions[index])
                let low = layout.yScale.map(top - abs(error)), high = layout.yScale.map(top + abs(error))
                let cap = min(4, abs(b.x - a.x) * 0.25)
                whiskers.move(to: Point(x: x, y: low)); whiskers.line(to: Point(x: x, y: high))
                whiskers.move(to: Point(x: x - cap, y: low)); whiskers.line(to: Point(x: x + cap, y: low))
                whiskers.move(to: Point(x: x - cap, y: high)); whiskers.line(to: Point(x: x + cap, y: high))
            }
        }
        guard !path.isEmpty else { return }
        backend.fill(path, color: bars.color)
        if let edge = bars.edgeColor { backend.stroke(path, style: StrokeStyle(color: edge, width: 0.6, join: .miter)) }
        if !whiskers.isEmpty { backend.stroke(whiskers, style: StrokeStyle(color: .gray(0.2), width: 1)) }
    }

    private func drawHeatmap(_ heatmap: HeatmapArtist) {
        let lower = heatmap.range.lowerBound, span = heatmap.range.upperBound - heatmap.range.lowerBound
        let colors = heatmap.values.map { value in
            value.isFinite ? heatmap.colorMap.color(at: (value - lower) / span)! : theme.missingColor
        }
        let a = page(-0.5, -0.5), b = page(Double(heatmap.columns) - 0.5, Double(heatmap.rows) - 0.5)
        let area = Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y))
        backend.drawImage(PixelImage(columns: heatmap.columns, rows: heatmap.rows, pixels: colors), in: area)
        guard heatmap.annotate else { return }
        let cellWidth = area.width / Double(heatmap.columns), cellHeight = area.height / Double(heatmap.rows)
        let strings = heatmap.values.map { $0.isFinite ? heatmap.format($0) : "" }
        let probe = Font(size: theme.annotationSize)
        let widest = strings.map { backend.measureText($0, font: probe).width }.max() ?? 0
        var size = theme.annotationSize
        if widest > 0 { size = min(size, size * cellWidth * 0.8 / widest) }
        size = min(size, cellHeight * 0.6)
        guard size >= 3 else { return }
        let font = Font(size: size)
        for row in 0..<heatmap.rows {
            for column in 0..<heatmap.columns where !strings[row * heatmap.columns + column].isEmpty {
                let fill = colors[row * heatmap.columns + column]
                backend.drawText(strings[row * heatmap.columns + column], at: page(Double(column), Double(row)), font: font,
                                 color: fill.luminance < 0.35 ? .white : .gray(0.1), horizontal: .center,
                                 vertical: .center, rotationDegrees: 0)
            }
        }
    }

    private func drawColorBar() {
        guard let bar = layout.colorBar else { return }
        backend.drawImage(bar.image, in: bar.rect)
        backend.stroke(.rectangle(bar.rect), style: spine)
        var ticks = Path()
        for value in bar.ticks {
            let y = bar.scale.map(value)
            ticks.move(to: Point(x: bar.rect.maxX, y: y)); ticks.line(to: Point(x: bar.rect.maxX + theme.tickLength, y: y))
        }
        if !ticks.isEmpty { backend.stroke(ticks, style: StrokeStyle(color: theme.spineColor, width: theme.spineWidth)) }
    }

    private func drawLegend() {
        guard let legend = layout.legend else { return }
        backend.fill(.rectangle(legend.box), color: Color.white.withAlpha(0.85))
        backend.stroke(.rectangle(legend.box), style: StrokeStyle(color: .gray(0.8), width: 0.8))
        for entry in legend.entries {
            let area = entry.handleArea
            let middle = Point(x: area.center.x, y: area.center.y)
            switch entry.handle {
            case .line(let style, let marker, let markerSize):
                backend.stroke(.segment(Point(x: area.minX, y: middle.y), Point(x: area.maxX, y: middle.y)), style: style)
                drawMarkers(marker, at: [middle], size: markerSize, color: style.color)
            case .patch(let color):
                let side = min(area.height * 0.8, area.width)
                backend.fill(.rectangle(Rect(x: area.minX + (area.width - side * 1.6) / 2, y: middle.y - side / 2,
                                             width: side * 1.6, height: side)), color: color)
            case .marker(let color, let marker, let size):
                drawMarkers(marker, at: [middle], size: size, color: color)
            }
            entry.label.draw(on: backend)
        }
    }
}
