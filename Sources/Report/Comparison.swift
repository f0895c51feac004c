import Foundation
import Plot
import RunStore

/// Several runs side by side: SR, SNR, clusters and noise per layer of each, on shared axes.
public enum Comparison {
    /// The comparison figures of `runs`.
    public static func figures(_ runs: [RunContents]) -> [ReportFigure] {
        let specs: [(id: String, title: String, column: String, axis: String)] = [
            ("compare_sr", "SR per layer", LayerColumns.probeFinalSR.name, "test SR(l)"),
            ("compare_snr", "SNR per layer", LayerColumns.snr.name, "SNR"),
            ("compare_clusters", "Clusters per filter", LayerColumns.clustersPerFilter.name, "clusters per filter"),
            ("compare_noise", "Noise per filter", LayerColumns.meanNoise.name, "ones outside clusters"),
        ]
        return specs.map { spec in
            let figure = Figure(width: 7, height: 4.4)
            let axes = figure.addAxes()
            for run in runs {
                axes.plot(x: run.layers.map(Double.init), y: run.column(spec.column), label: run.name, marker: .circle)
            }
            axes.title = spec.title
            axes.xLabel = "convolutional layer l"
            axes.yLabel = spec.axis
            axes.legend(.outsideRight)
            let deepest = runs.flatMap(\.layers).max() ?? 1
            if deepest <= 20 { axes.setXTicks((1...deepest).map(Double.init), labels: (1...deepest).map(String.init)) }
            return ReportFigure(id: spec.id, title: spec.title, caption:
                "One line per run, against the layer number (runs of different depth end at different layers).", figure: figure)
        }
    }

    /// Writes the figures (`extraFigures` first) and `compare.html` into `directory`; returns the page's URL.
    public static func write(runs urls: [URL], to directory: URL, templates: TemplateSet, title: String? = nil,
                             extraFigures: ([RunContents]) -> [ReportFigure] = { _ in [] }) throws -> URL {
        let runs = try urls.map { url throws(RunStoreError) in try RunContents(directory: url) }
        let figuresDirectory = directory.appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: figuresDirectory, withIntermediateDirectories: true)
        let figures = try (extraFigures(runs) + figures(runs)).map { try RunReport.save($0, in: figuresDirectory) }
        let rows: [[String: Any]] = runs.map { run in
            let sr = run.column(LayerColumns.probeFinalSR.name), snr = run.column(LayerColumns.snr.name)
            return ["cells": [run.name, run.dataset, run.configuration?.notation ?? "?",
                              run.configuration.map { String($0.epochs) } ?? "?", RunReport.number(run.fullSR),
                              RunReport.number(sr.first ?? .nan), RunReport.number(sr.last ?? .nan),
                              RunReport.number(snr.first ?? .nan), RunReport.number(snr.last ?? .nan),
                              RunReport.number(run.threshold), run.normalization]]
        }
        let context: [String: Any] = [
            "title": title ?? "FilterLens comparison of \(runs.count) run(s)",
            "header": ["run", "data set", "architecture", "epochs", "full SR", "SR(1)", "SR(L)", "SNR(1)", "SNR(L)", "threshold", "normalization"],
            "rows": rows, "figures": figures, "version": RunLayout.toolVersion, "generated": RunLayout.timestamp(),
        ]
        let url = directory.appendingPathComponent("compare.html")
        try AtomicFile.write(Data(try templates.render("compare", context).utf8), to: url)
        return url
    }
}
