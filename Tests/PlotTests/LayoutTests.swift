import Foundation
import Plot
import Testing

/// Renders `figure` on a fresh recording backend.
func record(_ figure: Figure) throws -> (RecordingBackend, FigureLayout) {
    let backend = RecordingBackend()
    let layout = try figure.render(on: backend)
    return (backend, layout)
}

/// Whether any two of the boxes overlap.
func anyOverlap(_ boxes: [Rect]) -> Bool {
    for i in boxes.indices { for j in boxes.indices where j > i && boxes[i].intersects(boxes[j]) { return true } }
    return false
}

@Suite("Figure layout")
struct LayoutTests {
    @Test func everythingLiesInsideThePage() throws {
        let figure = makeSampleFigure()
        let (backend, layout) = try record(figure)
        let page = Rect(x: 0, y: 0, width: figure.pageWidth, height: figure.pageHeight)
        #expect(layout.plotAreas.count == 4)
        for area in layout.plotAreas {
            #expect(page.contains(area))
            #expect(area.width > 100 && area.height > 100)
        }
        #expect(!anyOverlap(layout.plotAreas))
        for text in backend.texts { #expect(page.contains(text.bounds), "\(text.text) at \(text.bounds)") }
        #expect(backend.clipDepth == 0)
    }

    @Test func tickLabelsDoNotOverlap() throws {
        let (backend, layout) = try record(makeSampleFigure())
        let tickSize = Theme().tickLabelSize
        // Tick labels are the texts at tick size lying outside every plot area.
        let labels = backend.texts.filter { text in
            text.font.size == tickSize && !layout.plotAreas.contains { $0.intersects(text.bounds) }
        }
        #expect(labels.count > 30)
        // Upright labels: their boxes are disjoint.
        #expect(!anyOverlap(labels.filter { $0.rotationDegrees == 0 }.map(\.bounds)))
        // Rotated labels are parallel strips: neighbours (same baseline) must be at least a text height apart,
        // measured perpendicular to the text.
        let rotated = Dictionary(grouping: labels.filter { $0.rotationDegrees != 0 }) { $0.anchor.y }
        #expect(!rotated.isEmpty)
        for row in rotated.values {
            let sorted = row.sorted { $0.anchor.x < $1.anchor.x }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                let angle = a.rotationDegrees * .pi / 180
                #expect((b.anchor.x - a.anchor.x) * sin(angle) >= a.font.size)
            }
        }
    }

    @Test func longCategoryNamesAreRotated() throws {
        let (backend, _) = try record(makeSampleFigure())
        let automobile = backend.texts.filter { $0.text == "automobile" && $0.font.size == Theme().tickLabelSize }
        #expect(automobile.contains { $0.rotationDegrees > 0 })
    }

    @Test func labelsDoNotOverlapThePlotOfTheirPanel() throws {
        let figure = Figure(width: 4, height: 3)
        let axes = figure.addAxes()
        axes.plot(x: [0, 1, 2], y: [10, 2000, 30])
        axes.xLabel = "epoch"
        axes.yLabel = "loss"
        axes.title = "Training"
        let (backend, layout) = try record(figure)
        let plot = layout.plotAreas[0]
        for name in ["epoch", "loss", "Training", "2000"] {
            let text = try #require(backend.texts.first { $0.text == name })
            #expect(!plot.intersects(text.bounds), "\(name) overlaps the plot")
        }
    }

    @Test func legendListsLabelledSeriesInsideThePlot() throws {
        let figure = Figure(width: 5, height: 4)
        let axes = figure.addAxes()
        axes.plot(x: [0, 1, 2, 3], y: [0, 1, 2, 3], label: "train")
        axes.plot(x: [0, 1, 2, 3], y: [0, 0.5, 1, 1.5], label: "test", dash: .dashed)
        axes.plot(x: [0, 1, 2, 3], y: [3, 2, 1, 0])
        axes.axhline(y: 1, label: "chance")
        let (backend, layout) = try record(figure)
        let legend = try #require(layout.legendBoxes[0])
        #expect(layout.plotAreas[0].contains(legend))
        let inLegend = backend.texts.filter { legend.contains($0.bounds) }.map(\.text)
        #expect(inLegend == ["train", "test", "chance"])
        // "best" avoids the rising lines (upper right) and the falling one (upper left).
        #expect(!legend.intersects(Rect(x: layout.plotAreas[0].maxX - 20, y: layout.plotAreas[0].minY, width: 20, height: 20)))
    }

    @Test func outsideLegendGetsRoomOnTheRight() throws {
        let figure = Figure(width: 5, height: 3)
        let axes = figure.addAxes()
        axes.plot([1, 2, 3], label: "a rather long series name")
        axes.legend(.outsideRight)
        let (_, layout) = try record(figure)
        let legend = try #require(layout.legendBoxes[0])
        #expect(legend.minX >= layout.plotAreas[0].maxX)
        #expect(legend.maxX <= figure.pageWidth)
    }

    @Test func noLegendWithoutLabels() throws {
        let figure = Figure()
        figure.addAxes().plot([1, 2, 3])
        let (_, layout) = try record(figure)
        #expect(layout.legendBoxes[0] == nil)
    }

    @Test func heatmapDrawsOneCellPerValueAndAnnotations() throws {
        let figure = Figure(width: 5, height: 4)
        let axes = figure.addAxes()
        var values = (0..<100).map { Double($0) / 99 }
        values[5] = .nan
        axes.heatmap(values, rows: 10, columns: 10, rowLabels: cifarLabels, columnLabels: cifarLabels, annotate: true)
        let (backend, layout) = try record(figure)
        let image = try #require(backend.images.first { $0.image.rows == 10 })
        #expect(image.image.columns == 10 && image.image.pixels.count == 100)
        #expect(image.image.pixels[5] == Theme().missingColor)
        #expect(image.image.pixels[0].hexString == "#440154")
        #expect(image.image.pixels[99].hexString == "#FDE725")
        // Square cells, inside the plot area.
        #expect(abs(image.rect.width - image.rect.height) < 1e-6)
        #expect(layout.plotAreas[0].contains(image.rect))
        let annotations = backend.texts.filter { image.rect.contains($0.bounds) }
        #expect(annotations.count == 99)
        #expect(annotations.contains { $0.text == "1" } && annotations.contains { $0.text == "0" })
        let colorBar = try #require(layout.colorBars[0])
        #expect(colorBar.minX > image.rect.maxX)
        #expect(backend.images.contains { $0.image.columns == 1 && $0.rect == colorBar })
    }

    @Test func nonFiniteValuesAreSkippedNotFatal() throws {
        let figure = Figure(width: 6, height: 2)
        let panels = figure.subplots(rows: 1, columns: 3)
        panels[0][0].plot(x: [0, 1, 2, 3, 4], y: [1, .nan, 2, .infinity, 3], marker: .circle)
        panels[0][1].scatter(x: [.nan, 1, 2], y: [1, 2, -.infinity])
        panels[0][2].histogram([.nan, 1, 2, 2, 3, .infinity], bins: 3)
        panels[0][2].bar(positions: [0, 1], heights: [.nan, 1])
        let (backend, _) = try record(figure)
        // The line breaks at each bad point: three separate one-point pieces give no segment, markers at 3 points.
        let markerFills = backend.fills.filter { $0.path.elements.contains { if case .circle = $0 { return true } else { return false } } }
        let circles = markerFills.flatMap(\.path.elements).filter { if case .circle = $0 { return true } else { return false } }
        #expect(circles.count == 3 + 1)
    }

    @Test func constantSeriesGetsAUsableRange() throws {
        let figure = Figure(width: 4, height: 3)
        figure.addAxes().plot([0.7, 0.7, 0.7])
        let (backend, _) = try record(figure)
        let yLabels = backend.texts.filter { $0.anchor.x < 60 }.map(\.text)
        #expect(yLabels.count >= 2)
        #expect(yLabels.allSatisfy { Double($0) != nil })
    }

    @Test func barsStartAtTheBaseline() throws {
        let figure = Figure(width: 4, height: 3)
        let axes = figure.addAxes()
        axes.bar(categories: ["a", "b", "c"], heights: [1, 3, 2])
        let (backend, layout) = try record(figure)
        let bars = try #require(backend.fills.first)
        let bottoms = bars.path.elements.compactMap { if case .rectangle(let r) = $0 { return r.maxY } else { return nil } }
        #expect(bottoms.count == 3)
        #expect(bottoms.allSatisfy { abs($0 - layout.plotAreas[0].maxY) < 1e-6 })
        #expect(backend.texts.contains { $0.text == "b" })
    }

    @Test func dataTableHoldsTheNumbersBehindTheFigure() {
        let figure = makeSampleFigure()
        let table = figure.dataTable()
        #expect(table.header == ["panel", "kind", "series", "x", "y"])
        #expect(table.rows.filter { $0[1] == "heatmap" }.count == 100)
        #expect(table.rows.filter { $0[1] == "histogram" }.count == 30)
        #expect(table.rows.filter { $0[1] == "histogram" }.map { Int($0[4])! }.reduce(0, +) == 2000)
        #expect(table.rows.contains { $0 == ["Per-label success rate", "bar", "per-label SR", "cat", "0.8"] })
        #expect(table.rows.contains { $0 == ["Success rate per layer", "hline", "full network", "", "0.93"] })
    }
}
