import Foundation
import Plot
import PlotCairo
import Testing
import TestSupport

@Suite("Figure files")
struct FigureWriterTests {
    @Test func writesPNGAndPDFOfTheSameFigure() throws {
        let directory = try makeScratchDirectory(prefix: "plot-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pdf = directory.appendingPathComponent("sample.pdf"), png = directory.appendingPathComponent("sample.png")
        try FigureWriter.write(makeSampleFigure(), pdf: pdf, png: png, dpi: 100)

        let pngData = try Data(contentsOf: png)
        #expect(Array(pngData.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let size = pngSize(pngData)
        #expect(size.width == 1000 && size.height == 800)  // 10 x 8 inches at 100 dpi

        let pdfData = try Data(contentsOf: pdf)
        #expect(String(decoding: pdfData.prefix(4), as: UTF8.self) == "%PDF")
        #expect(pdfData.range(of: Data("/FontFile".utf8)) != nil)  // fonts embedded
        if let text = try pdfText(pdf.path) {
            for expected in ["success rate", "true label", "automobile", "Confusion matrix", "fraction", "predicted"] {
                #expect(text.contains(expected), "PDF text lacks \(expected)")
            }
        }
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(Set(leftovers) == ["sample.pdf", "sample.png"])

        // Keep a copy of the sample where a person can look at it.
        let keep = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-plot-sample")
        try? FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
        try FigureWriter.write(makeSampleFigure(), pdf: keep.appendingPathComponent("sample.pdf"),
                               png: keep.appendingPathComponent("sample.png"), dpi: 150)
    }

    @Test func overwritesAnExistingFile() throws {
        let directory = try makeScratchDirectory(prefix: "plot-tests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = directory.appendingPathComponent("small.png")
        try Data("old".utf8).write(to: png)
        let figure = Figure(width: 2, height: 1)
        figure.addAxes().plot([1, 2])
        try FigureWriter.write(figure, png: png, dpi: 72)
        #expect(pngSize(try Data(contentsOf: png)) == (144, 72))
    }

    @Test func missingDirectoryIsAnErrorNamingThePath() throws {
        let pdf = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/figure.pdf")
        let figure = Figure(width: 2, height: 2)
        figure.addAxes().plot([1, 2])
        do {
            try FigureWriter.write(figure, pdf: pdf)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == pdf.path)
            #expect(error.description.contains(pdf.path))
        }
    }

    @Test func cairoMeasurementIsRealistic() throws {
        let backend = try CairoBackend(output: .png(path: "/dev/null", dpi: 72))
        let narrow = backend.measureText("iiii", font: Font(size: 10))
        let wide = backend.measureText("WWWW", font: Font(size: 10))
        #expect(narrow.width < wide.width)
        #expect(wide.width > 30 && wide.width < 50)
        #expect(abs(narrow.ascent - wide.ascent) < 1e-9)
    }
}
