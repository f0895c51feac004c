import CCairo
import Foundation

/// A failed Cairo call: the library's own message (`cairo_status_to_string`), the operation and, for files, the path.
public struct CairoError: Error, CustomStringConvertible, Equatable {
    /// The raw `cairo_status_t` value.
    public let status: UInt32
    /// Cairo's message for `status`.
    public let message: String
    /// What was being done, e.g. "create PDF surface".
    public let operation: String
    /// The file involved, when there is one.
    public let path: String?

    /// Builds an error from a Cairo status.
    init(_ status: cairo_status_t, operation: String, path: String? = nil) {
        self.status = status.rawValue
        self.message = String(cString: cairo_status_to_string(status))
        self.operation = operation
        self.path = path
    }

    /// Whether Cairo failed writing its output file (a full disk, a removed directory, a lost mount).
    public var isWriteError: Bool { status == CAIRO_STATUS_WRITE_ERROR.rawValue }

    /// One line: operation, path and Cairo's message.
    public var description: String {
        if let path { return "cairo: \(operation) '\(path)': \(message)" }
        return "cairo: \(operation): \(message)"
    }
}

/// Facts about the linked Cairo library.
public enum CairoLibrary {
    /// The version string of the linked libcairo, e.g. "1.16.0".
    public static var version: String { String(cString: cairo_version_string()) }
}

/// Throws a `CairoError` unless `status` is success.
func check(_ status: cairo_status_t, _ operation: String, path: String? = nil) throws(CairoError) {
    if status != CAIRO_STATUS_SUCCESS { throw CairoError(status, operation: operation, path: path) }
}

/// A Cairo drawing surface (owns one `cairo_surface_t`): a PDF file or an in-memory ARGB32 image.
public final class CairoSurface {
    /// The owned surface handle.
    let handle: OpaquePointer
    /// The PDF file this surface writes, or nil for an image surface.
    public let path: String?
    /// Width in surface units (points for PDF, pixels for images).
    public let width: Double
    /// Height in surface units (points for PDF, pixels for images).
    public let height: Double

    private init(handle: OpaquePointer, path: String?, width: Double, height: Double) {
        self.handle = handle
        self.path = path
        self.width = width
        self.height = height
    }

    /// A PDF surface writing to `path`, one page of `widthPoints` x `heightPoints` (1 pt = 1/72 inch).
    /// Fonts used by text are embedded as subsets, and the text stays extractable.
    public static func pdf(path: String, widthPoints: Double, heightPoints: Double) throws(CairoError) -> CairoSurface {
        guard let handle = cairo_pdf_surface_create(path, widthPoints, heightPoints) else {
            throw CairoError(CAIRO_STATUS_NO_MEMORY, operation: "create PDF surface", path: path)
        }
        let surface = CairoSurface(handle: handle, path: path, width: widthPoints, height: heightPoints)
        try check(cairo_surface_status(handle), "create PDF surface", path: path)
        return surface
    }

    /// An in-memory ARGB32 image of `width` x `height` pixels, initially transparent.
    public static func image(width: Int, height: Int) throws(CairoError) -> CairoSurface {
        guard let handle = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw CairoError(CAIRO_STATUS_NO_MEMORY, operation: "create image surface")
        }
        let surface = CairoSurface(handle: handle, path: nil, width: Double(width), height: Double(height))
        try check(cairo_surface_status(handle), "create image surface")
        return surface
    }

    /// Writes this image surface as a PNG file at `path`.
    public func writePNG(path: String) throws(CairoError) {
        cairo_surface_flush(handle)
        try check(cairo_surface_write_to_png(handle, path), "write PNG", path: path)
    }

    /// Finishes the surface (a PDF is completed and its file closed) and reports any write error.
    public func finish() throws(CairoError) {
        cairo_surface_finish(handle)
        try check(cairo_surface_status(handle), "finish surface", path: path)
    }

    deinit { cairo_surface_destroy(handle) }
}

/// How the ends of stroked lines look.
public enum CairoLineCap: Sendable { case butt, round, square }
/// How stroked lines join at corners.
public enum CairoLineJoin: Sendable { case miter, round, bevel }
/// The weight of the toy-API font.
public enum CairoFontWeight: Sendable { case normal, bold }

/// Size of a string in the current font, in user units (from `cairo_text_extents` and `cairo_font_extents`).
public struct CairoTextExtents: Sendable, Equatable {
    /// Horizontal advance of the whole string.
    public let advance: Double
    /// Distance from the baseline up to the font's ascent line (font-wide, the same for every string).
    public let ascent: Double
    /// Distance from the baseline down to the font's descent line (positive; font-wide).
    public let descent: Double
}

/// A Cairo drawing context (owns one `cairo_t`) on a `CairoSurface`. Coordinates: origin top-left, y down.
/// Drawing calls do not throw: Cairo keeps the first error, and `checkStatus()` reports it.
public final class CairoContext {
    /// The owned context handle.
    let handle: OpaquePointer
    /// The surface drawn on (kept alive as long as the context).
    public let surface: CairoSurface

    /// A context drawing on `surface`.
    public init(surface: CairoSurface) throws(CairoError) {
        guard let handle = cairo_create(surface.handle) else {
            throw CairoError(CAIRO_STATUS_NO_MEMORY, operation: "create context", path: surface.path)
        }
        self.handle = handle
        self.surface = surface
        try check(cairo_status(handle), "create context", path: surface.path)
    }

    deinit { cairo_destroy(handle) }

    /// Throws the context's sticky error, if any drawing call failed.
    public func checkStatus(_ operation: String = "draw") throws(CairoError) {
        try check(cairo_status(handle), operation, path: surface.path)
    }

    /// Pushes the graphics state (colour, line style, transform, clip, font).
    public func save() { cairo_save(handle) }
    /// Pops the graphics state pushed by `save()`.
    public func restore() { cairo_restore(handle) }

    /// Starts a new sub-path at (x, y).
    public func move(to x: Double, _ y: Double) { cairo_move_to(handle, x, y) }
    /// Adds a straight segment to (x, y).
    public func line(to x: Double, _ y: Double) { cairo_line_to(handle, x, y) }
    /// Adds a cubic Bézier segment with control points (x1, y1), (x2, y2), ending at (x3, y3).
    public func curve(to x3: Double, _ y3: Double, control1 x1: Double, _ y1: Double, control2 x2: Double, _ y2: Double) {
        cairo_curve_to(handle, x1, y1, x2, y2, x3, y3)
    }
    /// Adds a closed rectangle sub-path with top-left corner (x, y).
    public func rectangle(x: Double, y: Double, width: Double, height: Double) {
        cairo_rectangle(handle, x, y, width, height)
    }
    /// Adds a circular arc around (centerX, centerY) from `startAngle` to `endAngle` (radians, clockwise on screen).
    public func arc(centerX: Double, centerY: Double, radius: Double, startAngle: Double, endAngle: Double) {
        cairo_arc(handle, centerX, centerY, radius, startAngle, endAngle)
    }
    /// Starts a new sub-path without a current point (so a following arc does not connect to the previous point).
    public func newSubPath() { cairo_new_sub_path(handle) }
    /// Closes the current sub-path.
    public func closePath() { cairo_close_path(handle) }
    /// Discards the current path.
    public func newPath() { cairo_new_path(handle) }

    /// Strokes the current path and clears it.
    public func stroke() { cairo_stroke(handle) }
    /// Strokes the current path and keeps it.
    public func strokePreserve() { cairo_stroke_preserve(handle) }
    /// Fills the current path (non-zero winding) and clears it.
    public func fill() { cairo_fill(handle) }
    /// Fills the current path and keeps it.
    public func fillPreserve() { cairo_fill_preserve(handle) }
    /// Fills the whole clip region with the current source.
    public func paint() { cairo_paint(handle) }

    /// Sets the source colour; components in 0...1.
    public func setColor(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        cairo_set_source_rgba(handle, red, green, blue, alpha)
    }
    /// Sets the stroke width in user units.
    public func setLineWidth(_ width: Double) { cairo_set_line_width(handle, width) }
    /// Sets a dash pattern (on/off lengths in user units); empty means solid.
    public func setDash(_ pattern: [Double], offset: Double = 0) {
        cairo_set_dash(handle, pattern, Int32(pattern.count), offset)
    }
    /// Sets the line cap style.
    public func setLineCap(_ cap: CairoLineCap) {
        switch cap {
        case .butt: cairo_set_line_cap(handle, CAIRO_LINE_CAP_BUTT)
        case .round: cairo_set_line_cap(handle, CAIRO_LINE_CAP_ROUND)
        case .square: cairo_set_line_cap(handle, CAIRO_LINE_CAP_SQUARE)
        }
    }
    /// Sets the line join style.
    public func setLineJoin(_ join: CairoLineJoin) {
        switch join {
        case .miter: cairo_set_line_join(handle, CAIRO_LINE_JOIN_MITER)
        case .round: cairo_set_line_join(handle, CAIRO_LINE_JOIN_ROUND)
        case .bevel: cairo_set_line_join(handle, CAIRO_LINE_JOIN_BEVEL)
        }
    }

    /// Intersects the clip region with the current path, and clears the path.
    public func clip() { cairo_clip(handle) }

    /// Moves the origin by (dx, dy).
    public func translate(_ dx: Double, _ dy: Double) { cairo_translate(handle, dx, dy) }
    /// Scales user units by (sx, sy).
    public func scale(_ sx: Double, _ sy: Double) { cairo_scale(handle, sx, sy) }
    /// Rotates user space by `radians` (positive turns clockwise on screen).
    public func rotate(_ radians: Double) { cairo_rotate(handle, radians) }

    /// Selects a font by family name (e.g. "DejaVu Sans"; fontconfig substitutes a sans-serif font when it is missing).
    public func selectFont(family: String, weight: CairoFontWeight = .normal) {
        cairo_select_font_face(handle, family, CAIRO_FONT_SLANT_NORMAL,
                               weight == .bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    }
    /// Turns hinting of font metrics on or off; off keeps text advances identical at every resolution, so a
    /// layout measured once fits in PDF and PNG alike.
    public func setFontMetricsHinting(_ enabled: Bool) {
        guard let options = cairo_font_options_create() else { return }
        cairo_font_options_set_hint_metrics(options, enabled ? CAIRO_HINT_METRICS_ON : CAIRO_HINT_METRICS_OFF)
        cairo_set_font_options(handle, options)
        cairo_font_options_destroy(options)
    }
    /// Sets the font size (em size in user units).
    public func setFontSize(_ size: Double) { cairo_set_font_size(handle, size) }
    /// Draws `text` (UTF-8) with its baseline starting at the current point.
    public func showText(_ text: String) { cairo_show_text(handle, text) }
    /// Measures `text` in the current font: advance width plus the font's ascent and descent.
    public func textExtents(_ text: String) -> CairoTextExtents {
        var textExtents = cairo_text_extents_t()
        var fontExtents = cairo_font_extents_t()
        cairo_text_extents(handle, text, &textExtents)
        cairo_font_extents(handle, &fontExtents)
        return CairoTextExtents(advance: textExtents.x_advance, ascent: fontExtents.ascent, descent: fontExtents.descent)
    }

    /// Draws a `columns` x `rows` image stretched over the rectangle (x, y, width, height) with nearest-neighbour
    /// sampling, so each pixel becomes a crisp cell in PNG and PDF alike.
    /// `argb`: row-major (row 0 at the top), `rows * columns` pixels packed as 0xAARRGGBB with straight alpha.
    public func drawPixels(_ argb: [UInt32], columns: Int, rows: Int,
                           x: Double, y: Double, width: Double, height: Double) throws(CairoError) {
        precondition(argb.count == columns * rows, "drawPixels: \(argb.count) pixels for \(columns) x \(rows)")
        let image = try CairoSurface.image(width: columns, height: rows)
        guard let data = cairo_image_surface_get_data(image.handle) else {
            throw CairoError(CAIRO_STATUS_NULL_POINTER, operation: "image surface data")
        }
        let stride = Int(cairo_image_surface_get_stride(image.handle))
        cairo_surface_flush(image.handle)
        for row in 0..<rows {
            let line = UnsafeMutableRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
            for column in 0..<columns { line[column] = Self.premultiplied(argb[row * columns + column]) }
        }
        cairo_surface_mark_dirty(image.handle)
        save()
        cairo_rectangle(handle, x, y, width, height)
        cairo_clip(handle)
        cairo_translate(handle, x, y)
        cairo_scale(handle, width / Double(columns), height / Double(rows))
        cairo_set_source_surface(handle, image.handle, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(handle), CAIRO_FILTER_NEAREST)
        cairo_paint(handle)
        restore()
        try checkStatus("draw image")
    }

    /// Converts straight-alpha 0xAARRGGBB to Cairo's premultiplied form.
    private static func premultiplied(_ pixel: UInt32) -> UInt32 {
        let alpha = pixel >> 24
        if alpha == 255 { return pixel }
        func scaled(_ shift: UInt32) -> UInt32 { (((pixel >> shift) & 0xFF) * alpha + 127) / 255 }
        return (alpha << 24) | (scaled(16) << 16) | (scaled(8) << 8) | scaled(0)
    }
}
