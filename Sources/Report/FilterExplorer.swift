import Foundation
import Plot
import PlotCairo
import RunStore

/// One test image for the report's filter panels: `height` x `width` RGB pixels, row-major (3 bytes a pixel).
public struct TestImage: Sendable, Equatable {
    public var height: Int, width: Int
    public var rgb: [UInt8]

    public init(height: Int, width: Int, rgb: [UInt8]) {
        precondition(rgb.count == height * width * 3, "rgb must hold height x width x 3 bytes")
        self.height = height
        self.width = width
        self.rgb = rgb
    }
}

/// Where the report finds the test images a run's top images index: for the engine's runs, the run's test set
/// (the command line reads it); for filterlens-torch's, the copies `dissect` stored in fields.h5. Nil for an index
/// it lacks.
public typealias TestImageLookup = (Int) -> TestImage?

/// The report's filter explorer, per layer: a tile per filter (its normalized matrix, cut from one sprite PNG), a
/// sortable table of the filters' numbers, and the data their panels draw from (`figures/layerNN_filters.js`, a
/// local script the page loads when a panel of the layer first opens). The top images are PNGs under
/// `figures/images/`, one per test image, loaded when their panel opens. The page's script is `templates/explorer`.
enum FilterExplorer {
    /// Where the images are written, relative to the run directory.
    static let imagesFolder = "figures/images"

    /// The per-filter columns a panel shows, in order.
    static let panelColumns = [FilterColumns.clusterCount, FilterColumns.signal, FilterColumns.noise, FilterColumns.noiseCluster,
                               FilterColumns.silent, FilterColumns.dominantLabel, FilterColumns.dominantOnesRatio]

    /// One layer's explorer: writes its sprite and data script under `figures/`, returns its template context and the
    /// test images its panels show (`images`: test-image index to its path relative to the report).
    static func layer(_ layer: Int, analysis: AnalysisFileReader, run: RunContents, normalized: [Double], filterCount: Int,
                      figures: URL, images: [Int: String]) throws -> [String: Any] {
        let name = RunLayout.layerName(layer)
        let labels = run.labelNames.count
        let top = try analysis.topImages(layer: layer)
        let binary = try analysis.matrices(layer: layer, "binary").values
        let clusterOf = try analysis.labelColumns(layer: layer, "cluster_of_label").values.map { Int($0) }
        var columns: [String: [Double]] = [:]
        for column in panelColumns { columns[column.name] = try analysis.filterColumn(layer: layer, column.name) }
        let (sprite, tileSize, perRow) = try writeSprite(normalized, filters: filterCount, labels: labels,
                                                        to: figures.appendingPathComponent(name + "_tiles.png"))

        // The table: filter, noise, clusters, cluster size, dominant label, top images of cluster labels.
        let clusterCounts = columns[FilterColumns.clusterCount.name]!, noise = columns[FilterColumns.noise.name]!
        let dominant = columns[FilterColumns.dominantLabel.name]!
        var rows: [[String: Any]] = []
        for f in 0..<filterCount {
            let members = clusterOf[(f * labels)..<((f + 1) * labels)]
            let clustered = members.filter { $0 >= 0 }.count
            let size = clusterCounts[f] > 0 ? Double(clustered) / clusterCounts[f] : .nan
            let kept = top?.images(filter: f) ?? []
            let hits = clustered > 0 && !kept.isEmpty ? Double(kept.filter { $0.label >= 0 && members[members.startIndex + $0.label] >= 0 }.count) : .nan
            let label = Int(dominant[f])
            rows.append(["layer": layer, "filter": f, "cells": [
                cell(noise[f]), cell(clusterCounts[f]), cell(size),
                ["value": String(label), "text": label >= 0 && label < labels ? run.labelNames[label] : "silent"],
                ["value": value(hits), "text": hits.isNaN ? "–" : "\(Int(hits)) of \(kept.count)"],
            ] as [[String: String]]])
        }
        let header: [[String: String]] = [
            ["name": "filter", "help": "filter (channel) index, from 0"],
            ["name": FilterColumns.noise.title, "help": FilterColumns.noise.definition],
            ["name": FilterColumns.clusterCount.title, "help": FilterColumns.clusterCount.definition],
            ["name": "cluster size", "help": "mean labels per cluster of the filter"],
            ["name": "dominant label", "help": FilterColumns.dominantLabel.definition + "; sorts by label index"],
            ["name": "top images in clusters", "help": "how many of the filter's top images have a true label in one of its clusters"],
        ]
        // The panels' data, loaded on demand.
        var data: [String: Any] = [
            "filters": filterCount, "k": top?.count ?? 0,
            "normalized": normalized.map { ($0 * 1e4).rounded() / 1e4 },
            "binary": (0..<filterCount).map { f in binary[(f * labels * labels)..<((f + 1) * labels * labels)].map { $0 > 0 ? "1" : "0" }.joined() },
            "clusterOfLabel": clusterOf,
            "columns": panelColumns.map { column in
                ["name": column.title, "values": columns[column.name]!.map(jsonNumber), "label": column == FilterColumns.dominantLabel] as [String: Any]
            },
            "noImages": "analysis.h5 holds no top images for this layer: analyse the run again (filterlens analyze) with this FilterLens, or dissect it again with filterlens-torch.",
        ]
        if let top {
            data["top"] = ["index": top.indices, "value": top.values.map(jsonNumber), "label": top.labels] as [String: Any]
            var paths: [String: String] = [:]
            for index in top.indices where index >= 0 { paths[String(index)] = images[Int(index)] }
            data["images"] = paths
        } else {
            data["top"] = ["index": [Int](), "value": [Double](), "label": [Int]()]
            data["images"] = [String: String]()
        }
        let json = try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])
        let script = "FilterLensExplorer.layerLoaded(\(layer), " + String(decoding: json, as: UTF8.self) + ");\n"
        try AtomicFile.write(Data(script.utf8), to: figures.appendingPathComponent(name + "_filters.js"))
        return [
            "layer": layer, "sprite": "figures/" + sprite, "topImages": top?.count ?? 0,
            "tiles": (0..<filterCount).map { f in
                ["layer": layer, "filter": f, "x": (f % perRow) * tileSize, "y": (f / perRow) * tileSize, "size": tileSize] as [String: Any]
            },
            "header": header, "rows": rows,
        ]
    }

    /// The test images every layer's top images index, written once each as `figures/images/test-NNNNN.png`;
    /// returns each index's path relative to the report (an index `lookup` lacks gets none).
    static func writeImages(_ indices: Set<Int>, lookup: TestImageLookup, directory: URL) throws -> [Int: String] {
        let folder = directory.appendingPathComponent(imagesFolder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var paths: [Int: String] = [:]
        for index in indices.sorted() {
            guard let image = lookup(index) else { continue }
            let name = String(format: "test-%05d.png", index)
            let url = folder.appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: url.path) {   // a test image's pixels never change within a run
                let pixels = (0..<(image.height * image.width)).map { p in
                    Color(red: Double(image.rgb[3 * p]) / 255, green: Double(image.rgb[3 * p + 1]) / 255, blue: Double(image.rgb[3 * p + 2]) / 255)
                }
                try FigureWriter.writePNG(PixelImage(columns: image.width, rows: image.height, pixels: pixels), to: url)
            }
            paths[index] = imagesFolder + "/" + name
        }
        return paths
    }

    /// Every filter's normalized matrix as one PNG of tiles (a pixel block per element, viridis over -1...1, as the
    /// gallery figure), `perRow` tiles a row; returns its file name, the tile side in pixels and `perRow`.
    static func writeSprite(_ normalized: [Double], filters: Int, labels: Int, to url: URL) throws -> (String, Int, Int) {
        let scale = max(1, min(4, 48 / labels))
        let perRow = min(filters, 32)
        let rows = (filters + perRow - 1) / perRow
        let width = perRow * labels, height = rows * labels
        var pixels = [Color](repeating: Color(red: 1, green: 1, blue: 1), count: width * height)
        for f in 0..<filters {
            let left = (f % perRow) * labels, top = (f / perRow) * labels
            for i in 0..<labels {
                for j in 0..<labels {
                    let t = (min(1, max(-1, normalized[(f * labels + i) * labels + j])) + 1) / 2
                    pixels[(top + i) * width + left + j] = ColorMap.viridis.color(at: t) ?? Color(red: 0.5, green: 0.5, blue: 0.5)
                }
            }
        }
        try FigureWriter.writePNG(PixelImage(columns: width, rows: height, pixels: pixels), scale: scale, to: url)
        return (url.lastPathComponent, labels * scale, perRow)
    }

    /// The page's data of the explorer (the `data-meta` attribute): label names, each label's share of the test
    /// images, the threshold, the colour map, and each layer's data script.
    static func meta(run: RunContents, analysis: AnalysisFileReader) throws -> String {
        let counts = (try? analysis.imagesPerLabel()) ?? nil
        let total = Double(counts?.reduce(0, +) ?? 0)
        let shares = run.labelNames.indices.map { label in
            counts.map { total > 0 ? Double($0[label]) / total : 1 / Double(run.labelNames.count) } ?? 1 / Double(run.labelNames.count)
        }
        let meta: [String: Any] = [
            "labels": run.labelNames, "labelShare": shares, "threshold": run.threshold,
            "viridis": ColorMap.viridis.stops.map { [$0.position, $0.color.red, $0.color.green, $0.color.blue] },
            "layerScripts": Dictionary(uniqueKeysWithValues: run.layers.map { (String($0), "figures/\(RunLayout.layerName($0))_filters.js") }),
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys]), as: UTF8.self)
    }

    private static func value(_ number: Double) -> String { number.isFinite ? String(number) : "NaN" }
    private static func cell(_ number: Double) -> [String: String] { ["value": value(number), "text": RunReport.number(number)] }
    /// JSON has no NaN or infinity: null stands for them.
    private static func jsonNumber(_ number: Double) -> Any { number.isFinite ? number : NSNull() }
}
