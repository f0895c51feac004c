import Foundation

/// A point in page coordinates: points (1/72 inch), origin at the top-left corner, y growing downwards.
public struct Point: Sendable, Equatable {
    /// Horizontal position in points.
    public var x: Double
    /// Vertical position in points (downwards).
    public var y: Double
    /// A point at (x, y).
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// An axis-aligned rectangle in page coordinates (points; origin top-left, y down).
public struct Rect: Sendable, Equatable {
    /// Left edge.
    public var x: Double
    /// Top edge.
    public var y: Double
    /// Width (non-negative).
    public var width: Double
    /// Height (non-negative).
    public var height: Double
    /// A rectangle with top-left corner (x, y).
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    /// Left edge.
    public var minX: Double { x }
    /// Right edge.
    public var maxX: Double { x + width }
    /// Top edge.
    public var minY: Double { y }
    /// Bottom edge.
    public var maxY: Double { y + height }
    /// The centre point.
    public var center: Point { Point(x: x + width / 2, y: y + height / 2) }
    /// Whether `other` lies entirely inside this rectangle (with `tolerance` points of slack).
    public func contains(_ other: Rect, tolerance: Double = 1e-6) -> Bool {
        other.minX >= minX - tolerance && other.maxX <= maxX + tolerance
            && other.minY >= minY - tolerance && other.maxY <= maxY + tolerance
    }
    /// Whether the point lies inside (edges included).
    public func contains(_ point: Point) -> Bool {
        point.x >= minX && point.x <= maxX && point.y >= minY && point.y <= maxY
    }
    /// Whether the interiors of the two rectangles overlap.
    public func intersects(_ other: Rect) -> Bool {
        minX < other.maxX && other.minX < maxX && minY < other.maxY && other.minY < maxY
    }
    /// The area shared with `other` (0 when they do not overlap).
    public func overlapArea(_ other: Rect) -> Double {
        max(0, min(maxX, other.maxX) - max(minX, other.minX)) * max(0, min(maxY, other.maxY) - max(minY, other.minY))
    }
    /// The smallest rectangle containing both.
    public func union(_ other: Rect) -> Rect {
        let left = min(minX, other.minX), top = min(minY, other.minY)
        return Rect(x: left, y: top, width: max(maxX, other.maxX) - left, height: max(maxY, other.maxY) - top)
    }
    /// This rectangle shrunk by `dx` on the left and right and `dy` on the top and bottom.
    public func insetBy(dx: Double, dy: Double) -> Rect {
        Rect(x: x + dx, y: y + dy, width: max(0, width - 2 * dx), height: max(0, height - 2 * dy))
    }
}

/// An sRGB colour with straight (not premultiplied) alpha; components in 0...1.
public struct Color: Sendable, Equatable, Hashable {
    /// Red, 0...1.
    public var red: Double
    /// Green, 0...1.
    public var green: Double
    /// Blue, 0...1.
    public var blue: Double
    /// Opacity, 0...1.
    public var alpha: Double
    /// A colour from components in 0...1.
    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red; self.green = green; self.blue = blue; self.alpha = alpha
    }
    /// A colour from 0xRRGGBB, e.g. `Color(hex: 0x4477AA)`.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(red: Double((hex >> 16) & 0xFF) / 255, green: Double((hex >> 8) & 0xFF) / 255,
                  blue: Double(hex & 0xFF) / 255, alpha: alpha)
    }
    /// "#RRGGBB" (alpha not included), components rounded to 8 bits.
    public var hexString: String {
        func byte(_ value: Double) -> Int { Int((min(max(value, 0), 1) * 255).rounded()) }
        return String(format: "#%02X%02X%02X", byte(red), byte(green), byte(blue))
    }
    /// The same colour with another opacity.
    public func withAlpha(_ alpha: Double) -> Color { Color(red: red, green: green, blue: blue, alpha: alpha) }
    /// Relative luminance (WCAG, 0 = black, 1 = white); used to pick readable text over a cell.
    public var luminance: Double {
        func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }
    /// Opaque black.
    public static let black = Color(red: 0, green: 0, blue: 0)
    /// Opaque white.
    public static let white = Color(red: 1, green: 1, blue: 1)
    /// A grey of the given lightness (0 black ... 1 white).
    public static func gray(_ level: Double, alpha: Double = 1) -> Color {
        Color(red: level, green: level, blue: level, alpha: alpha)
    }
}

/// How line ends are drawn.
public enum LineCap: Sendable, Equatable { case butt, round, square }
/// How line corners are drawn.
public enum LineJoin: Sendable, Equatable { case miter, round, bevel }

/// A named dash style; the pattern scales with the line width, as in matplotlib.
public enum LineDash: Sendable, Equatable {
    case solid, dashed, dotted, dashDot
    /// On/off lengths in points for a line of `width` points (empty for solid).
    public func pattern(lineWidth width: Double) -> [Double] {
        switch self {
        case .solid: return []
        case .dashed: return [3.7 * width, 1.6 * width]
        case .dotted: return [1 * width, 1.65 * width]
        case .dashDot: return [6.4 * width, 1.6 * width, 1 * width, 1.6 * width]
        }
    }
}

/// How a path is stroked: colour, width in points, dash pattern (on/off lengths in points), cap and join.
public struct StrokeStyle: Sendable, Equatable {
    /// Line colour.
    public var color: Color
    /// Line width in points.
    public var width: Double
    /// Dash on/off lengths in points; empty means solid.
    public var dash: [Double]
    /// Line-end style.
    public var cap: LineCap
    /// Corner style.
    public var join: LineJoin
    /// A stroke style; solid, butt caps and round joins unless told.
    public init(color: Color, width: Double, dash: [Double] = [], cap: LineCap = .butt, join: LineJoin = .round) {
        self.color = color; self.width = width; self.dash = dash; self.cap = cap; self.join = join
    }
}

/// One element of a `Path`, in page coordinates.
public enum PathElement: Sendable, Equatable {
    /// Starts a new sub-path.
    case move(Point)
    /// A straight segment from the current point.
    case line(Point)
    /// A closed rectangle sub-path.
    case rectangle(Rect)
    /// A closed circle sub-path (centre, radius in points).
    case circle(Point, Double)
    /// Closes the current sub-path.
    case close
}

/// A sequence of sub-paths to stroke or fill, in page coordinates.
public struct Path: Sendable, Equatable {
    /// The elements in drawing order.
    public private(set) var elements: [PathElement] = []
    /// An empty path.
    public init() {}
    /// Whether the path has no elements.
    public var isEmpty: Bool { elements.isEmpty }
    /// Starts a new sub-path at `point`.
    public mutating func move(to point: Point) { elements.append(.move(point)) }
    /// Adds a segment to `point`.
    public mutating func line(to point: Point) { elements.append(.line(point)) }
    /// Adds a rectangle.
    public mutating func addRectangle(_ rect: Rect) { elements.append(.rectangle(rect)) }
    /// Adds a circle.
    public mutating func addCircle(center: Point, radius: Double) { elements.append(.circle(center, radius)) }
    /// Closes the current sub-path.
    public mutating func close() { elements.append(.close) }
    /// A path holding one rectangle.
    public static func rectangle(_ rect: Rect) -> Path { var path = Path(); path.addRectangle(rect); return path }
    /// A path holding one straight segment.
    public static func segment(_ from: Point, _ to: Point) -> Path {
        var path = Path(); path.move(to: from); path.line(to: to); return path
    }
}

/// A font request: size in points, optionally bold. The family is the backend's (DejaVu Sans for Cairo).
public struct Font: Sendable, Equatable {
    /// Em size in points.
    public var size: Double
    /// Bold weight.
    public var bold: Bool
    /// A font of `size` points.
    public init(size: Double, bold: Bool = false) { self.size = size; self.bold = bold }
}

/// Horizontal placement of text relative to its anchor (in the text's own, possibly rotated, frame).
public enum HorizontalAlignment: Sendable, Equatable { case left, center, right }
/// Vertical placement of text relative to its anchor (in the text's own frame).
public enum VerticalAlignment: Sendable, Equatable { case top, center, baseline, bottom }

/// The measured size of a string: advance width, and the font's ascent and descent (points).
public struct TextMetrics: Sendable, Equatable {
    /// Advance width in points.
    public var width: Double
    /// Height above the baseline in points (font-wide).
    public var ascent: Double
    /// Depth below the baseline in points (positive, font-wide).
    public var descent: Double
    /// A measurement.
    public init(width: Double, ascent: Double, descent: Double) {
        self.width = width; self.ascent = ascent; self.descent = descent
    }
    /// ascent + descent.
    public var height: Double { ascent + descent }
}

/// Where a text lands on the page: the shared geometry that backends draw and the layout measures.
public enum TextGeometry {
    /// The offset from the anchor to the start of the baseline, in the text's unrotated frame (points).
    public static func baselineOffset(_ metrics: TextMetrics, horizontal: HorizontalAlignment,
                                      vertical: VerticalAlignment) -> Point {
        let dx: Double
        switch horizontal {
        case .left: dx = 0
        case .center: dx = -metrics.width / 2
        case .right: dx = -metrics.width
        }
        let dy: Double
        switch vertical {
        case .top: dy = metrics.ascent
        case .center: dy = (metrics.ascent - metrics.descent) / 2
        case .baseline: dy = 0
        case .bottom: dy = -metrics.descent
        }
        return Point(x: dx, y: dy)
    }

    /// The page-space bounding box of a text drawn at `anchor`, rotated `rotationDegrees` counter-clockwise.
    public static func bounds(_ metrics: TextMetrics, anchor: Point, horizontal: HorizontalAlignment,
                              vertical: VerticalAlignment, rotationDegrees: Double = 0) -> Rect {
        let offset = baselineOffset(metrics, horizontal: horizontal, vertical: vertical)
        let corners = [
            Point(x: offset.x, y: offset.y - metrics.ascent), Point(x: offset.x + metrics.width, y: offset.y - metrics.ascent),
            Point(x: offset.x, y: offset.y + metrics.descent), Point(x: offset.x + metrics.width, y: offset.y + metrics.descent),
        ]
        let angle = rotationDegrees * .pi / 180
        let cosine = cos(angle), sine = sin(angle)
        let rotated = corners.map { Point(x: anchor.x + $0.x * cosine + $0.y * sine, y: anchor.y - $0.x * sine + $0.y * cosine) }
        let xs = rotated.map(\.x), ys = rotated.map(\.y)
        return Rect(x: xs.min()!, y: ys.min()!, width: xs.max()! - xs.min()!, height: ys.max()! - ys.min()!)
    }
}

/// A small raster of colours, row-major with row 0 at the top (`rows` x `columns`).
public struct PixelImage: Sendable, Equatable {
    /// Number of columns (pixels per row).
    public let columns: Int
    /// Number of rows.
    public let rows: Int
    /// `rows * columns` colours, row-major.
    public let pixels: [Color]
    /// An image; `pixels.count` must equal `rows * columns`.
    public init(columns: Int, rows: Int, pixels: [Color]) {
        precondition(pixels.count == rows * columns, "PixelImage: \(pixels.count) pixels for \(rows) x \(columns)")
        self.columns = columns; self.rows = rows; self.pixels = pixels
    }
}
