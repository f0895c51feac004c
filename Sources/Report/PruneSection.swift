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

    /// Whether x is the share of the whole network pruned: when every level records it (a single-level file made
    /// before levels existed does not; x is then the share of the masked tensors).
    static func usesNetworkFraction(_ prune: PruneSummary) -> Bool {
        prune.levels.allSatisfy { $0.networkKeptFraction.allSatisfy(\.isFinite) }
    }

    /// Percentage pruned of row `row` of `level`: of the network or of the masked tensors (`usesNetworkFraction`).
    static func prunedPercent(_ level: PruneLevelSummary, _ row: Int, network: Bool) -> Double {
        100 * (1 - (network ? level.networkKeptFraction[row] : level.keptFraction[row]))
    }

    /// SR against the percentage of weights pruned, one point per level: two panels (before and after the
    /// retraining), AFCC as a line with markers, the controls' mean as a dashed line with a bar from the smallest to
    /// the largest seed, the unpruned network as trained as a horizontal line, and (after retraining) the unpruned
    /// network after each level's own retraining as a grey diamond at that level's x.
    public static func figure(_ prune: PruneSummary) -> ReportFigure {
        let network = usesNetworkFraction(prune)
        let figure = Figure(width: 11.5, height: 4.2)
        let panels = figure.subplots(rows: 1, columns: 2)
        let levels = prune.levels.filter { $0.index(of: "afcc") != nil }
            .sorted { prunedPercent($0, $0.index(of: "afcc")!, network: network) < prunedPercent($1, $1.index(of: "afcc")!, network: network) }
        let x = levels.map { prunedPercent($0, $0.index(of: "afcc")!, network: network) }
        let right = max(5, ((x.max() ?? 0) * 1.1 / 5).rounded(.up) * 5)
        let heads = prune.levels.reduce(into: [Int: Double]()) { heads, level in
            if let head = level.layers.last, let row = level.index(of: "unpruned"), heads[head] == nil { heads[head] = level.srBefore[row] }
        }
        let seeds = levels.map(\.controlRows.count).max() ?? 0
        for (column, (title, after)) in [("Before retraining", false), ("After retraining", true)].enumerated() {
            let axes = panels[0][column]
            let sr = { (level: PruneLevelSummary, row: Int) in after ? level.srAfter[row] : level.srBefore[row] }
            for (head, value) in heads.sorted(by: { $0.key < $1.key }) {
                axes.axhline(y: value, label: heads.count == 1 ? "unpruned, as trained" : "unpruned (head of layer \(head)), as trained",
                             color: .gray(0.35), dash: .solid)
            }
            if after {
                let rows = levels.map { $0.index(of: "unpruned") }
                axes.scatter(x: zip(x, rows).map { $1 == nil ? .nan : $0 },
                             y: zip(levels, rows).map { level, row in row.map { level.srAfter[$0] } ?? .nan },
                             label: "unpruned, retrained as at that level", color: .gray(0.45), size: 7, marker: .diamond)
            }
            if seeds > 0 {
                let spreads = levels.map { level in Spread(level.controlRows.map { sr(level, $0) }) }
                let cap = right * 0.008
                var barX: [Double] = [], barY: [Double] = []
                for (position, spread) in zip(x, spreads) where spread.minimum.isFinite {
                    barX += [position, position, .nan, position - cap, position + cap, .nan, position - cap, position + cap, .nan]
                    barY += [spread.minimum, spread.maximum, .nan, spread.minimum, spread.minimum, .nan, spread.maximum, spread.maximum, .nan]
                }
                axes.plot(x: barX, y: barY, label: "control, range of \(seeds) seeds", color: Palette.cycle(1), width: 1.2)
                axes.plot(x: x, y: spreads.map(\.mean), label: "control, mean of \(seeds) seeds", color: Palette.cycle(1),
                          dash: .dashed, marker: .square)
            }
            axes.plot(x: x, y: zip(levels, levels.map { $0.index(of: "afcc")! }).map { sr($0, $1) }, label: "AFCC",
                      color: Palette.cycle(0), marker: .circle)
            axes.title = title
            axes.xLabel = network ? "weights pruned (% of the network up to the head)" : "weights pruned (% of the masked tensors)"
            axes.yLabel = "test SR"
            axes.xLimits = 0...right
            axes.legend(column == 1 ? .outsideRight : .hidden)
        }
        let levelList = levels.map { "layers " + $0.layers.map(String.init).joined(separator: ",") }.joined(separator: "; ")
        let epochs = prune.levels.first?.attributes["retrain_epochs"] ?? "?"
        return ReportFigure(id: "prune_sr", title: "Pruning by clusters (AFCC) against random clusters", caption:
            "Test SR after pruning by AFCC (clusters of phase 3) and by the random-cluster control with the same counts per filter, before and after \(epochs) epochs of retraining with the masks held; one point per pruning level (\(levelList)). x: the share of " + (network ? "the weights of the network up to the pruned head (its convolutions and the head)" : "the masked tensors' weights") + " pruned; AFCC and its controls prune the same weights by construction. Bars: the range of the control seeds. Grey line: the unpruned network as trained; grey diamonds: the unpruned network after the same retraining as the level at that x (each level retrains its own layers, so each has its own reference).",
            figure: figure, table: table(prune))
    }

    /// The figure's CSV: one row per level and model.
    public static func table(_ prune: PruneSummary) -> CSVTable {
        var table = CSVTable(header: ["level", "layers", "model", "control_seed", "pruned_fraction_of_masked", "pruned_fraction_of_network",
                                      "sr_before", "sr_after", "seconds"])
        let number = CSVTable.number
        for (index, level) in prune.levels.enumerated() {
            for row in level.models.indices {
                table.append([String(index + 1), level.layers.map(String.init).joined(separator: " "), level.models[row],
                              level.controlSeeds[row] >= 0 ? String(level.controlSeeds[row]) : "",
                              number(1 - level.keptFraction[row]), number(1 - level.networkKeptFraction[row]),
                              number(level.srBefore[row]), number(level.srAfter[row]), number(level.seconds[row])])
            }
        }
        return table
    }

    /// The template context of the section (nil when the run has no prune.h5); draws its figure into `figures`.
    static func context(directory: URL, figures: URL) throws -> [String: Any]? {
        let url = directory.appendingPathComponent(RunLayout.pruneFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let prune = try PruneFileReader.read(url)
        let figure = try RunReport.save(figure(prune), in: figures)
        func percent(_ value: Double) -> String { value.isFinite ? String(format: "%.2f", 100 * value) : "n/a" }
        func seconds(_ value: Double) -> String { value.isFinite ? String(format: "%.0f", value) : "n/a" }
        let levels: [[String: Any]] = prune.levels.enumerated().map { index, level in
            var rows: [[String: Any]] = level.models.indices.map { row in
                ["cells": [level.models[row], percent(1 - level.keptFraction[row])]
                    + level.keptFractionPerTensor[row].map { percent(1 - $0) }
                    + [percent(1 - level.networkKeptFraction[row]), RunReport.number(level.srBefore[row]),
                       RunReport.number(level.srAfter[row]), seconds(level.seconds[row])]]
            }
            let controls = level.controlRows
            if controls.count > 1 {
                let before = Spread(controls.map { level.srBefore[$0] }), after = Spread(controls.map { level.srAfter[$0] })
                let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
                rows.append(["cells": ["control, mean ± sd of \(controls.count) seeds", percent(1 - mean(controls.map { level.keptFraction[$0] }))]
                    + level.tensors.indices.map { t in percent(1 - mean(controls.map { level.keptFractionPerTensor[$0][t] })) }
                    + [percent(1 - mean(controls.map { level.networkKeptFraction[$0] })),
                       "\(RunReport.number(before.mean)) ± \(RunReport.number(before.standardDeviation))",
                       "\(RunReport.number(after.mean)) ± \(RunReport.number(after.standardDeviation))",
                       seconds(mean(controls.map { level.seconds[$0] }))]])
            }
            return [
                "title": "Level \(index + 1): layers \(level.layers.map(String.init).joined(separator: ", ")), retraining lr \(level.attributes["retrain_learning_rate"] ?? "?")",
                "header": ["model", "pruned % of the masked weights"] + level.tensors.map { "pruned % of \($0)" }
                    + ["pruned % of the network", "SR before", "SR after", "seconds"],
                "rows": rows,
            ]
        }
        let attributes = prune.attributes
        let analysisCreated = (try? AnalysisFileReader(directory.appendingPathComponent(RunLayout.analysisFile)))?.string("created")
        let stale = attributes["analysis_created"].flatMap { made in
            analysisCreated.flatMap { $0 == made ? nil : "prune.h5 was made from the analysis.h5 of \(made); the run was analysed again on \($0): run `filterlens prune` again for numbers from the current clusters." }
        }
        let definitions: [[String: String]] = [
            ("AFCC", "afcc_definition"), ("Control", "control_definition"), ("No cluster", "no_cluster_rule"),
            ("Retrained", "retrained"), ("SR", "sr_definition"), ("Pruned fraction", "kept_fraction_definition"),
            ("Pruned fraction of the network", "network_fraction_definition"),
        ].compactMap { term, key in attributes[key].map { ["term": term, "meaning": $0] } }
        let shared = prune.levels.first?.attributes ?? [:]
        let took = attributes["seconds"].flatMap(Double.init).map { String(format: "%.0f s", $0) } ?? "?"
        let resumed = attributes["resumed_models"].flatMap(Double.init).flatMap { $0 > 0 ? String(format: " (%.0f models from an interrupted call's checkpoint)", $0) : nil } ?? ""
        let recipe = "\(shared["retrain_epochs"] ?? "?") epochs on \(attributes["train_images"] ?? "?") training images, lr per level (below) x\(shared["retrain_lr_decay"] ?? "?") per epoch, momentum \(shared["retrain_momentum"] ?? "?") (Nesterov), weight decay \(shared["retrain_weight_decay"] ?? "?"), batch \(shared["retrain_batch_size"] ?? "?"), augmentation \(shared["retrain_augment"] == "1" ? "flip + shift 4" : "none"), seed \(shared["seed"] ?? "?"); \(attributes["test_images"] ?? "?") test images; took \(took)\(resumed)"
        return [
            "levelCount": prune.levels.count, "levels": levels, "figure": figure, "definitions": definitions, "recipe": recipe,
            "stale": stale ?? false,
        ]
    }
}
