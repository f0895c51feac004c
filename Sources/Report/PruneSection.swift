import Foundation
import Plot
import RunStore

/// The report's pruning section (AFCC against its random control), from `prune.h5` when the run has one.
public enum PruneSection {
    /// Mean and spread of a control's SRs over its seeds.
    public struct Spread: Sendable {
        public var mean: Double, standardDeviation: Double, minimum: Double, maximum: Double
        /// Mean, sample standard deviation (n - 1; NaN for one seed), smallest and largest of `values`.
        public init(_ values: [Double]) {
            let n = Double(values.count)
            mean = values.isEmpty ? .nan : values.reduce(0, +) / n
            let m = mean
            standardDeviation = values.count > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() : .nan
            minimum = values.min() ?? .nan
            maximum = values.max() ?? .nan
        }
    }

    /// SR against the percentage of weights pruned: two panels (before and after the retraining), AFCC's point, the
    /// controls' mean with a bar from the smallest to the largest seed, and the unpruned SR as lines.
    public static func figure(_ prune: PruneSummary) -> ReportFigure {
        let figure = Figure(width: 11.5, height: 3.9)
        let panels = figure.subplots(rows: 1, columns: 2)
        let afcc = prune.index(of: "afcc"), unpruned = prune.index(of: "unpruned")
        let controls = prune.controlRows
        for (column, (title, values)) in [("Before retraining", prune.srBefore), ("After retraining", prune.srAfter)].enumerated() {
            let axes = panels[0][column]
            if let unpruned {
                axes.axhline(y: prune.srBefore[unpruned], label: "unpruned", color: .gray(0.35), dash: .solid)
                axes.axhline(y: prune.srAfter[unpruned], label: "unpruned, same retraining", color: .gray(0.6), dash: .dashed)
            }
            if let afcc {
                axes.scatter(x: [100 * (1 - prune.keptFraction[afcc])], y: [values[afcc]], label: "AFCC", color: Palette.cycle(0),
                             size: 7, marker: .circle)
            }
            if !controls.isEmpty {
                let x = 100 * (1 - controls.map { prune.keptFraction[$0] }.reduce(0, +) / Double(controls.count))
                let spread = Spread(controls.map { values[$0] })
                axes.plot(x: [x, x], y: [spread.minimum, spread.maximum], label: "control, range over the seeds",
                          color: Palette.cycle(1), width: 1.2)
                axes.scatter(x: [x], y: [spread.mean], label: "control, mean of \(controls.count) seeds",
                             color: Palette.cycle(1), size: 7, marker: .square)
            }
            axes.title = title
            axes.xLabel = "weights pruned (% of those considered)"
            axes.yLabel = "test SR"
            axes.xLimits = 0...100
            axes.legend(column == 1 ? .outsideRight : .hidden)
        }
        let layers = prune.layers.map(String.init).joined(separator: ", ")
        return ReportFigure(id: "prune_sr", title: "Pruning by clusters (AFCC) against random clusters", caption:
            "Test SR of the head of layer \(prune.layers.last ?? 0) after pruning layers \(layers) by AFCC (clusters of phase 3) and by the random-cluster control with the same counts per filter, before and after \(prune.attributes["retrain_epochs"] ?? "?") epochs of retraining with the masks held. x: the share of the masked tensors' weights pruned. Lines: the unpruned network before (solid) and after (dashed) the same retraining.",
            figure: figure)
    }

    /// The template context of the section (nil when the run has no prune.h5); draws its figure into `figures`.
    static func context(directory: URL, figures: URL) throws -> [String: Any]? {
        let url = directory.appendingPathComponent(RunLayout.pruneFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let prune = try PruneFileReader.read(url)
        let figure = try RunReport.save(figure(prune), in: figures)
        func percent(_ value: Double) -> String { value.isFinite ? String(format: "%.2f", 100 * value) : "n/a" }
        var rows: [[String: Any]] = prune.models.indices.map { row in
            ["cells": [prune.models[row], percent(1 - prune.keptFraction[row])]
                + prune.keptFractionPerTensor[row].map { percent(1 - $0) }
                + [RunReport.number(prune.srBefore[row]), RunReport.number(prune.srAfter[row])]]
        }
        let controls = prune.controlRows
        if controls.count > 1 {
            let before = Spread(controls.map { prune.srBefore[$0] }), after = Spread(controls.map { prune.srAfter[$0] })
            let kept = controls.map { prune.keptFraction[$0] }.reduce(0, +) / Double(controls.count)
            rows.append(["cells": ["control, mean ± sd of \(controls.count) seeds", percent(1 - kept)]
                + prune.tensors.indices.map { t in percent(1 - controls.map { prune.keptFractionPerTensor[$0][t] }.reduce(0, +) / Double(controls.count)) }
                + ["\(RunReport.number(before.mean)) ± \(RunReport.number(before.standardDeviation))",
                   "\(RunReport.number(after.mean)) ± \(RunReport.number(after.standardDeviation))"]])
        }
        let attributes = prune.attributes
        let analysisCreated = (try? AnalysisFileReader(directory.appendingPathComponent(RunLayout.analysisFile)))?.string("created")
        let stale = attributes["analysis_created"].flatMap { made in
            analysisCreated.flatMap { $0 == made ? nil : "prune.h5 was made from the analysis.h5 of \(made); the run was analysed again on \($0): run `filterlens prune` again for numbers from the current clusters." }
        }
        let definitions: [[String: String]] = [
            ("AFCC", "afcc_definition"), ("Control", "control_definition"), ("No cluster", "no_cluster_rule"),
            ("Retrained", "retrained"), ("SR", "sr_definition"), ("Pruned fraction", "kept_fraction_definition"),
        ].compactMap { term, key in attributes[key].map { ["term": term, "meaning": $0] } }
        let recipe = "\(attributes["retrain_epochs"] ?? "?") epochs on \(attributes["train_images"] ?? "?") training images, lr \(attributes["retrain_learning_rate"] ?? "?") x\(attributes["retrain_lr_decay"] ?? "?") per epoch, momentum \(attributes["retrain_momentum"] ?? "?") (Nesterov), weight decay \(attributes["retrain_weight_decay"] ?? "?"), batch \(attributes["retrain_batch_size"] ?? "?"), augmentation \(attributes["retrain_augment"] == "1" ? "flip + shift 4" : "none"), seed \(attributes["seed"] ?? "?"); \(attributes["test_images"] ?? "?") test images; took \(attributes["seconds"].flatMap(Double.init).map { String(format: "%.0f s", $0) } ?? "?")"
        return [
            "layers": prune.layers.map(String.init).joined(separator: ", "),
            "header": ["model", "pruned %"] + prune.tensors.map { "pruned % of \($0)" } + ["SR before", "SR after"],
            "rows": rows, "figure": figure, "definitions": definitions, "recipe": recipe, "stale": stale ?? false,
        ]
    }
}
