import Cairo
import Files
import Foundation
import Plot

/// Draws Plot figures with Cairo, as a PDF (vector; fonts embedded as subsets, text extractable) or a PNG.
/// Text uses the "DejaVu Sans" family (fontconfig substitutes the default sans-serif font when it is missing).
public final class CairoBackend: DrawingBackend {
    /// What the backend writes at `endPage`.
    public enum Output: Sendable, Equatable {
        /// A one-page PDF whose page is the figure size in points.
        case pdf(path: String)
        /// A PNG of (page size in inches x dpi) pixels, white background.
        case png(path: String, dpi: Double)
    }

    /// The font family used for all text.
    public static let fontFamily = "DejaVu Sans"

    /// Where the page goes.
    public let output: Output
    private var surface: CairoSurface?
    private var context: CairoContext?
    /// A tiny scratch context, so text can be measured identically for every output and before `beginPage`.
    private let measuring: CairoContext
    /// The first error of a drawing call that cannot throw, reported by `endPage`.
    private var deferredError: CairoError?

    /// A backend writing to `output`.
    public init(output: Output) throws(CairoError) {
        self.output = output
        measuring = try CairoContext(surface: CairoSurface.image(width: 1, height: 1))
        measuring.setFontMetricsHinting(false)
    }

    /// The pixel size of a PNG page of `width` x `height` points at `dpi`.
    public static func pixelSize(width: Double, height: Double, dpi: Double) -> (width: Int, height: Int) {
        (max(1, Int((width * dpi / 72).rounded())), max(1, Int((height * dpi / 72).rounded())))
    }

    public func beginPage(width: Double, height: Double) throws {
        let surface: CairoSurface
        let context: CairoContext
        switch output {
        case .pdf(let path):
            surface = try CairoSurface.pdf(path: path, widthPoints: width, heightPoints: height)
            context = try CairoContext(surface: surface)
        case .png(_, let dpi):
            let pixels = Self.pixelSize(width: width, height: height, dpi: dpi)
            surface = try CairoSurface.image(width: pixels.width, height: pixels.height)
            context = try CairoContext(surface: surface)
            context.scale(Double(pixels.width) / width, Double(pixels.height) / height)
        }
        context.setFontMetricsHinting(false)
        context.setColor(red: 1, green: 1, blue: 1)
        context.paint()
        self.surface = surface
        self.context = context
    }

    public func endPage() throws {
        guard let surface, let context else { return }
        defer { self.context = nil; self.surface = nil }
        if let deferredError { throw deferredError }
        try context.checkStatus()
        switch output {
        case .pdf: try surface.finish()
        case .png(let path, _): try surface.writePNG(path: path)
        }
    }

    public func fill(_ path: Path, color: Color) {
        guard let context else { return }
        trace(path, on: context)
        setColor(color, on: context)
        context.fill()
    }

    public func stroke(_ path: Path, style: StrokeStyle) {
        guard let context else { return }
        trace(path, on: context)
        setColor(style.color, on: context)
        context.setLineWidth(style.width)
        context.setDash(style.dash)
        switch style.cap {
        case .butt: context.setLineCap(.butt)
        case .round: context.setLineCap(.round)
        case .square: context.setLineCap(.square)
        }
        switch style.join {
        case .miter: context.setLineJoin(.miter)
        case .round: context.setLineJoin(.round)
        case .bevel: context.setLineJoin(.bevel)
        }
        context.stroke()
    }

    public func drawText(_ text: String, at anchor: Point, font: Font, color: Color,
                         horizontal: HorizontalAlignment, vertical: VerticalAlignment, rotationDegrees: Double) {
        guard let context, !text.isEmpty else { return }
        let offset = TextGeometry.baselineOffset(measureText(text, font: font), horizontal: horizontal, vertical: vertical)
        context.save()
        context.translate(anchor.x, anchor.y)
        if rotationDegrees != 0 { context.rotate(-rotationDegrees * .pi / 180) }
        select(font, on: context)
        setColor(color, on: context)
        context.move(to: offset.x, offset.y)
        context.showText(text)
        context.restore()
    }

    public func measureText(_ text: String, font: Font) -> TextMetrics {
        select(font, on: measuring)
        let extents = measuring.textExtents(text)
        return TextMetrics(width: extents.advance, ascent: extents.ascent, descent: extents.descent)
    }

    public func drawImage(_ image: PixelImage, in rect: Rect) {
        guard let context, deferredError == nil else { return }
        func byte(_ value: Double) -> UInt32 { UInt32((min(max(value, 0), 1) * 255).rounded()) }
        let argb = image.pixels.map { byte($0.alpha) << 24 | byte($0.red) << 16 | byte($0.green) << 8 | byte($0.blue) }
        do {
            try context.drawPixels(argb, columns: image.columns, rows: image.rows,
                                   x: rect.x, y: rect.y, width: rect.width, height: rect.height)
        } catch {
            deferredError = error
        }
    }

    public func pushClip(_ rect: Rect) {
        guard let context else { return }
        context.save()
        context.rectangle(x: rect.x, y: rect.y, width: rect.width, height: rect.height)
        context.clip()
    }

    public func popClip() { context?.restore() }

    private func select(_ font: Font, on context: CairoContext) {
        context.selectFont(family: Self.fontFamily, weight: font.bold ? .bold : .normal)
        context.setFontSize(font.size)
    }

    private func setColor(_ color: Color, on context: CairoContext) {
        context.setColor(red: color.red, green: color.green, blue: color.blue, alpha: color.alpha)
    }

    private func trace(_ path: Path, on context: CairoContext) {
        context.newPath()
        for element in path.elements {
            switch element {
            case .move(let p): context.move(to: p.x, p.y)
            case .line(let p): context.line(to: p.x, p.y)
            case .rectangle(let r): context.rectangle(x: r.x, y: r.y, width: r.width, height: r.height)
            case .circle(let c, let radius):
                context.newSubPath()
                context.arc(centerX: c.x, centerY: c.y, radius: radius, startAngle: 0, endAngle: 2 * .pi)
                context.closePath()
            case .close: context.closePath()
            }
        }
    }
}

/// A figure file could not be written: the destination path and why (Cairo's message for Cairo failures).
public struct FigureWriteError: Error, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// What went wrong.
    public let reason: String
    /// The Cairo error behind it, if any.
    public let cairo: CairoError?

    /// "cannot write figure '<path>': <reason>".
    public var description: String { "cannot write figure '\(path)': \(reason)" }
}

/// Writes figures to files atomically: each file is drawn under a temporary name in the same directory and then
/// renamed over the destination, so a reader never sees a half-written figure.
public enum FigureWriter {
    /// Writes `figure` as a PDF to `pdf` and/or a PNG at `dpi` to `png` (same description, same layout).
    public static func write(_ figure: Figure, pdf: URL? = nil, png: URL? = nil, dpi: Double = 150) throws(FigureWriteError) {
        if let pdf { try write(figure, to: pdf) { .pdf(path: $0) } }
        if let png { try write(figure, to: png) { .png(path: $0, dpi: dpi) } }
    }

    private static func write(_ figure: Figure, to url: URL, output: (String) -> CairoBackend.Output) throws(FigureWriteError) {
        let destination = url.path
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FigureWriteError(path: destination, reason: "directory '\(directory)' does not exist", cairo: nil)
        }
        let temporary = TemporaryFile.url(for: url).path
        do {
            try figure.render(on: CairoBackend(output: output(temporary)))
        } catch let error as CairoError {
            try? FileManager.default.removeItem(atPath: temporary)
            let reason = error.isWriteError ? "Cairo: \(error.message); \(writeFailureHint(directory: directory))" : error.description
            throw FigureWriteError(path: destination, reason: reason, cairo: error)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FigureWriteError(path: destination, reason: "\(error)", cairo: nil)
        }
        if rename(temporary, destination) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw FigureWriteError(path: destination, reason: "rename from temporary file failed: \(reason)", cairo: nil)
        }
    }

    /// Why writing into `directory` may have failed, from its file system's free space (read after the failure).
    /// Writes `image` as a PNG at `url`, each pixel a `scale` x `scale` block (nearest neighbour), under a temporary
    /// name renamed into place.
    public static func writePNG(_ image: PixelImage, scale: Int = 1, to url: URL) throws(FigureWriteError) {
        precondition(scale > 0, "scale must be positive")
        let temporary = TemporaryFile.url(for: url).path
        func byte(_ value: Double) -> UInt32 { UInt32((min(max(value, 0), 1) * 255).rounded()) }
        let argb = image.pixels.map { byte($0.alpha) << 24 | byte($0.red) << 16 | byte($0.green) << 8 | byte($0.blue) }
        do {
            let surface = try CairoSurface.image(width: image.columns * scale, height: image.rows * scale)
            let context = try CairoContext(surface: surface)
            try context.drawPixels(argb, columns: image.columns, rows: image.rows, x: 0, y: 0,
                                   width: Double(image.columns * scale), height: Double(image.rows * scale))
            try surface.writePNG(path: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            let reason = error.isWriteError ? "Cairo: \(error.message); \(writeFailureHint(directory: url.deletingLastPathComponent().path))" : error.description
            throw FigureWriteError(path: url.path, reason: reason, cairo: error)
        }
        if rename(temporary, url.path) != 0 {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw FigureWriteError(path: url.path, reason: "cannot rename into place: \(String(cString: strerror(code)))", cairo: nil)
        }
    }

    static func writeFailureHint(directory: String) -> String {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory)
        guard let free = (attributes?[.systemFreeSize] as? NSNumber)?.int64Value else {
            return "check that '\(directory)' is writable and its disk not full"
        }
        if free < 4 << 20 {
            return "the disk of '\(directory)' is full (\(free / 1024) KiB free): free some space and run the command again"
        }
        return "check that '\(directory)' is writable (\(free >> 20) MiB free on its disk)"
    }
}
