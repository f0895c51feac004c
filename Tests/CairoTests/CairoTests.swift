import Cairo
import Foundation
import Testing
import TestSupport

@Suite("Cairo library")
struct CairoLibraryTests {
    @Test func versionIsDotted() {
        let parts = CairoLibrary.version.split(separator: ".")
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { Int($0) != nil })
    }
}

@Suite("Cairo surfaces")
struct CairoSurfaceTests {
    @Test func pngHasMagicBytesAndRequestedSize() throws {
        let directory = try makeScratchDirectory(prefix: "cairo-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let surface = try CairoSurface.image(width: 120, height: 80)
        let context = try CairoContext(surface: surface)
        context.setColor(red: 1, green: 1, blue: 1)
        context.paint()
        context.setColor(red: 0.2, green: 0.4, blue: 0.8)
        context.setLineWidth(2)
        context.setDash([4, 2])
        context.move(to: 10, 10)
        context.line(to: 110, 70)
        context.stroke()
        context.arc(centerX: 60, centerY: 40, radius: 10, startAngle: 0, endAngle: 2 * .pi)
        context.fill()
        try context.drawPixels([0xFFFF0000, 0xFF00FF00, 0x800000FF, 0xFFFFFFFF], columns: 2, rows: 2,
                               x: 0, y: 0, width: 20, height: 20)
        try context.checkStatus()
        let path = directory.appendingPathComponent("lines.png").path
        try surface.writePNG(path: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(String(decoding: data[12..<16], as: UTF8.self) == "IHDR")
        #expect(pngSize(data) == (120, 80))
    }

    @Test func pdfTextIsExtractable() throws {
        let directory = try makeScratchDirectory(prefix: "cairo-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("text.pdf").path
        let surface = try CairoSurface.pdf(path: path, widthPoints: 200, heightPoints: 100)
        let context = try CairoContext(surface: surface)
        context.selectFont(family: "DejaVu Sans")
        context.setFontSize(12)
        let extents = context.textExtents("Success rate")
        #expect(extents.advance > 40 && extents.advance < 120)
        #expect(extents.ascent > 8 && extents.descent > 1)
        context.move(to: 20, 50)
        context.showText("Success rate")
        try context.checkStatus()
        try surface.finish()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(String(decoding: data.prefix(4), as: UTF8.self) == "%PDF")
        if let text = try pdfText(path) {
            #expect(text.contains("Success rate"))
        }
    }

    @Test func pdfInMissingDirectoryNamesThePath() throws {
        let path = "/nonexistent-\(UUID().uuidString)/figure.pdf"
        do {
            _ = try CairoSurface.pdf(path: path, widthPoints: 100, heightPoints: 100)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
            #expect(!error.message.isEmpty)
        }
    }

    @Test func pngInMissingDirectoryNamesThePath() throws {
        let surface = try CairoSurface.image(width: 4, height: 4)
        let path = "/nonexistent-\(UUID().uuidString)/figure.png"
        #expect(throws: CairoError.self) { try surface.writePNG(path: path) }
        do { try surface.writePNG(path: path) } catch { #expect(error.description.contains(path)) }
    }
}
