import Foundation

/// Sizes (points) and colours shared by every panel of a figure; defaults follow matplotlib's look.
public struct Theme: Sendable {
    /// Tick label font size.
    public var tickLabelSize = 9.0
    /// Axis label font size.
    public var axisLabelSize = 10.0
    /// Panel title font size.
    public var titleSize = 11.0
    /// Figure title font size.
    public var figureTitleSize = 12.0
    /// Legend font size.
    public var legendSize = 9.0
    /// Heatmap annotation and `Axes.text` font size (annotations shrink to fit their cells).
    public var annotationSize = 8.0
    /// Default data line width.
    public var lineWidth = 1.5
    /// Marker diameter on lines.
    public var markerSize = 5.0
    /// Axis line (spine) and tick width.
    public var spineWidth = 0.8
    /// Tick length (outwards).
    public var tickLength = 3.5
    /// Gap between a tick and its label.
    public var tickPad = 3.0
    /// Gap between tick labels and the axis label.
    public var labelPad = 4.0
    /// Gap between the plot and its title.
    public var titlePad = 6.0
    /// Blank border around the whole figure.
    public var figurePadding = 6.0
    /// Blank space between neighbouring panels' decorations.
    public var panelSpacing = 14.0
    /// Text colour.
    public var textColor = Color.gray(0.1)
    /// Axis line and tick colour.
    public var spineColor = Color.gray(0.15)
    /// Grid line colour.
    public var gridColor = Color.gray(0.88)
    /// Grid line width.
    public var gridWidth = 0.6
    /// Heatmap cells holding NaN or infinity.
    public var missingColor = Color.gray(0.8)
    /// The defaults.
    public init() {}
}

/// Where things landed when a figure was rendered (page points), for checks and tests.
public struct FigureLayout: Sendable {
    /// Page width in points.
    public let pageWidth: Double
    /// Page height in points.
    public let pageHeight: Double
    /// Each panel's plot area (inside the axis lines), in `Figure.axes` order.
    public let plotAreas: [Rect]
    /// Each panel's legend box, if drawn.
    public let legendBoxes: [Rect?]
    /// Each panel's colour bar, if drawn.
    public let colorBars: [Rect?]
}

/// A figure (like matplotlib's): a page of `width` x `height` inches holding a grid of `Axes`, an optional title,
/// and a `Theme`. Describe it once and render it on any `DrawingBackend` (PDF and PNG through PlotCairo).
public final class Figure {
    /// Width in inches.
    public let width: Double
    /// Height in inches.
    public let height: Double
    /// Title centred above all panels.
    public var title: String?
    /// Sizes and colours.
    public var theme = Theme()
    /// Grid rows.
    public private(set) var rows = 0
    /// Grid columns.
    public private(set) var columns = 0
    /// The panels, row-major (row 0 first).
    public private(set) var axes: [Axes] = []

    /// An empty figure of `width` x `height` inches (matplotlib's default is 6.4 x 4.8).
    public init(width: Double = 6.4, height: Double = 4.8) {
        precondition(width > 0 && height > 0, "Figure size must be positive")
        self.width = width
        self.height = height
    }

    /// Page width in points (72 per inch).
    public var pageWidth: Double { width * 72 }
    /// Page height in points.
    public var pageHeight: Double { height * 72 }

    /// Replaces the panels with a `rows` x `columns` grid; returns them as [row][column].
    @discardableResult
    public func subplots(rows: Int, columns: Int) -> [[Axes]] {
        precondition(rows > 0 && columns > 0, "subplots needs at least one row and column")
        self.rows = rows
        self.columns = columns
        axes = (0..<(rows * columns)).map { _ in Axes() }
        return (0..<rows).map { row in Array(axes[(row * columns)..<((row + 1) * columns)]) }
    }

    /// A single panel filling the figure (replaces any panels).
    public func addAxes() -> Axes { subplots(rows: 1, columns: 1)[0][0] }

    /// Lays the figure out with `backend`'s text measurement and draws it as one page.
    @discardableResult
    public func render(on backend: DrawingBackend) throws -> FigureLayout {
        try backend.beginPage(width: pageWidth, height: pageHeight)
        let layouts = layOut(measuringWith: backend)
        if let title {
            backend.drawText(title, at: Point(x: pageWidth / 2, y: theme.figurePadding),
                             font: Font(size: theme.figureTitleSize, bold: true), color: theme.textColor,
                             horizontal: .center, vertical: .top, rotationDegrees: 0)
        }
        for (panel, layout) in zip(axes, layouts) {
            AxesPainter(axes: panel, layout: layout, theme: theme, backend: backend).draw()
        }
        try backend.endPage()
        return FigureLayout(pageWidth: pageWidth, pageHeight: pageHeight, plotAreas: layouts.map(\.plot),
                            legendBoxes: layouts.map { $0.legend?.box }, colorBars: layouts.map { $0.colorBar?.rect })
    }

    /// Space each panel needs outside its plot area (points).
    private struct Margins { var left = 45.0, right = 10.0, top = 22.0, bottom = 36.0 }

    /// Finds plot areas such that every panel's labels fit: panels in a column share left/right margins and
    /// panels in a row share top/bottom margins (so axes line up); iterated because ticks depend on sizes.
    func layOut(measuringWith backend: DrawingBackend) -> [AxesLayout] {
        guard !axes.isEmpty else { return [] }
        let pad = theme.figurePadding
        var top = pad
        if let title {
            top += backend.measureText(title, font: Font(size: theme.figureTitleSize, bold: true)).height + 6
        }
        var margins = [Margins](repeating: Margins(), count: axes.count)
        var layouts: [AxesLayout] = []
        for _ in 0..<4 {
            let cells = allocate(margins, top: top)
            layouts = zip(axes, cells).map { AxesLayout(axes: $0, allocated: $1, theme: theme, backend: backend) }
            margins = zip(layouts, cells).map { layout, cell in
                Margins(left: max(0, cell.minX - layout.extent.minX), right: max(0, layout.extent.maxX - cell.maxX),
                        top: max(0, cell.minY - layout.extent.minY), bottom: max(0, layout.extent.maxY - cell.maxY))
            }
        }
        return layouts
    }

    /// The plot rectangle of each panel given every panel's margins.
    private func allocate(_ margins: [Margins], top: Double) -> [Rect] {
        let pad = theme.figurePadding, gap = theme.panelSpacing
        func index(_ row: Int, _ column: Int) -> Int { row * columns + column }
        let left = (0..<columns).map { c in (0..<rows).map { margins[index($0, c)].left }.max()! }
        let right = (0..<columns).map { c in (0..<rows).map { margins[index($0, c)].right }.max()! }
        let above = (0..<rows).map { r in (0..<columns).map { margins[index(r, $0)].top }.max()! }
        let below = (0..<rows).map { r in (0..<columns).map { margins[index(r, $0)].bottom }.max()! }
        let plotWidth = max(10, (pageWidth - 2 * pad - left.reduce(0, +) - right.reduce(0, +)
                                 - Double(columns - 1) * gap) / Double(columns))
        let plotHeight = max(10, (pageHeight - top - pad - above.reduce(0, +) - below.reduce(0, +)
                                  - Double(rows - 1) * gap) / Double(rows))
        var rects: [Rect] = []
        var y = top
        for row in 0..<rows {
            var x = pad
            for column in 0..<columns {
                rects.append(Rect(x: x + left[column], y: y + above[row], width: plotWidth, height: plotHeight))
                x += left[column] + plotWidth + right[column] + gap
            }
            y += above[row] + plotHeight + below[row] + gap
        }
        return rects
    }
}
