import Foundation

/// What a renderer implements to draw a `Figure`. Coordinates are page points (1/72 inch), origin top-left,
/// y down. The figure calls `beginPage`, then measures and draws, then `endPage`; errors surface at `endPage`.
public protocol DrawingBackend: AnyObject {
    /// Starts the (single) page of `width` x `height` points, white background.
    func beginPage(width: Double, height: Double) throws
    /// Finishes the page and writes the output; reports any drawing error.
    func endPage() throws
    /// Fills `path` (non-zero winding) with `color`.
    func fill(_ path: Path, color: Color)
    /// Strokes `path` with `style`.
    func stroke(_ path: Path, style: StrokeStyle)
    /// Draws `text` so that its box is aligned to `anchor` as told, rotated `rotationDegrees` counter-clockwise
    /// about the anchor (see `TextGeometry`).
    func drawText(_ text: String, at anchor: Point, font: Font, color: Color,
                  horizontal: HorizontalAlignment, vertical: VerticalAlignment, rotationDegrees: Double)
    /// Measures `text` in `font` (advance width, font ascent and descent, points). Valid before `beginPage`.
    func measureText(_ text: String, font: Font) -> TextMetrics
    /// Draws `image` stretched over `rect`, each pixel a crisp (unsmoothed) cell.
    func drawImage(_ image: PixelImage, in rect: Rect)
    /// Restricts drawing to `rect` (intersected with any enclosing clip) until the matching `popClip`.
    func pushClip(_ rect: Rect)
    /// Undoes the latest `pushClip`.
    func popClip()
}

/// One recorded drawing command of a `RecordingBackend`.
public enum DrawingCommand: Sendable, Equatable {
    /// `beginPage(width:height:)`.
    case beginPage(width: Double, height: Double)
    /// `endPage()`.
    case endPage
    /// `fill(_:color:)`.
    case fill(Path, Color)
    /// `stroke(_:style:)`.
    case stroke(Path, StrokeStyle)
    /// `drawText`, with the bounding box the text occupies on the page.
    case text(RecordedText)
    /// `drawImage(_:in:)`.
    case image(PixelImage, Rect)
    /// `pushClip(_:)`.
    case pushClip(Rect)
    /// `popClip()`.
    case popClip
}

/// A text drawn on a `RecordingBackend`, with its page bounding box (from the approximate measurement).
public struct RecordedText: Sendable, Equatable {
    /// The string.
    public let text: String
    /// The anchor point.
    public let anchor: Point
    /// The font.
    public let font: Font
    /// The colour.
    public let color: Color
    /// Counter-clockwise rotation in degrees.
    public let rotationDegrees: Double
    /// The page-space box the text covers.
    public let bounds: Rect
}

/// A backend that records commands as values, for tests. Text is measured approximately:
/// width = 0.6 x font size per character, ascent = 0.8 x size, descent = 0.2 x size.
public final class RecordingBackend: DrawingBackend {
    /// Everything drawn so far, in order.
    public private(set) var commands: [DrawingCommand] = []
    /// The page size in points given to `beginPage`, if any.
    public private(set) var pageSize: (width: Double, height: Double)?
    /// Current clip nesting depth (0 when balanced).
    public private(set) var clipDepth = 0

    /// An empty recording.
    public init() {}

    /// The recorded texts, in drawing order.
    public var texts: [RecordedText] {
        commands.compactMap { if case .text(let text) = $0 { return text } else { return nil } }
    }
    /// The recorded fills, in drawing order.
    public var fills: [(path: Path, color: Color)] {
        commands.compactMap { if case .fill(let path, let color) = $0 { return (path, color) } else { return nil } }
    }
    /// The recorded images, in drawing order.
    public var images: [(image: PixelImage, rect: Rect)] {
        commands.compactMap { if case .image(let image, let rect) = $0 { return (image, rect) } else { return nil } }
    }

    public func beginPage(width: Double, height: Double) throws {
        pageSize = (width, height)
        commands.append(.beginPage(width: width, height: height))
    }
    public func endPage() throws { commands.append(.endPage) }
    public func fill(_ path: Path, color: Color) { commands.append(.fill(path, color)) }
    public func stroke(_ path: Path, style: StrokeStyle) { commands.append(.stroke(path, style)) }
    public func drawText(_ text: String, at anchor: Point, font: Font, color: Color,
                         horizontal: HorizontalAlignment, vertical: VerticalAlignment, rotationDegrees: Double) {
        let bounds = TextGeometry.bounds(measureText(text, font: font), anchor: anchor, horizontal: horizontal,
                                         vertical: vertical, rotationDegrees: rotationDegrees)
        commands.append(.text(RecordedText(text: text, anchor: anchor, font: font, color: color,
                                           rotationDegrees: rotationDegrees, bounds: bounds)))
    }
    public func measureText(_ text: String, font: Font) -> TextMetrics {
        TextMetrics(width: 0.6 * font.size * Double(text.count), ascent: 0.8 * font.size, descent: 0.2 * font.size)
    }
    public func drawImage(_ image: PixelImage, in rect: Rect) { commands.append(.image(image, rect)) }
    public func pushClip(_ rect: Rect) { clipDepth += 1; commands.append(.pushClip(rect)) }
    public func popClip() { clipDepth -= 1; commands.append(.popClip) }
}
