import Foundation
import Report
import Testing

@Suite("report templates")
struct TemplateTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates")

    @Test("values are HTML-escaped by default")
    func escapes() throws {
        let set = try TemplateSet(directory: Self.templates)
        let hostile = "<script>alert('x')</script> & \"quotes\""
        let html = try set.render("report", ["runName": hostile, "dataset": "CIFAR-10 (JPEG copy)", "figures": [[String: Any]](),
                                             "metadata": [["key": "command line", "value": hostile]]])
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert"))
        #expect(html.contains("&amp;"))
        #expect(html.contains("CIFAR-10 (JPEG copy)"))
    }

    @Test("warnings and the threshold sweep show only when present")
    func conditionalSections() throws {
        let set = try TemplateSet(directory: Self.templates)
        let with = try set.render("report", ["hasWarnings": true, "warnings": ["layer 1 head: loss high"],
                                             "hasSweep": true, "sweepHeader": ["layer 1"], "sweepRows": [["cells": ["0.3", "0.5"]]]])
        #expect(with.contains("Warnings") && with.contains("layer 1 head: loss high"))
        #expect(with.contains("Threshold sweep"))
        let without = try set.render("report", ["hasWarnings": false, "warnings": [String](), "hasSweep": false])
        #expect(!without.contains("Warnings") && !without.contains("Threshold sweep"))
    }

    @Test("the pruning section shows only when the run has prune.h5")
    func pruningSection() throws {
        let set = try TemplateSet(directory: Self.templates)
        let levels: [[String: Any]] = [["title": "Level 1: layers 6", "header": ["model", "SR after"], "rows": [["cells": ["afcc", "0.5"]]]],
                                       ["title": "Level 2: layers 5, 6", "header": ["model", "SR after"], "rows": [["cells": ["afcc", "0.4"]]]]]
        let prune: [String: Any] = ["levelCount": 2, "levels": levels,
                                    "recipe": "2 epochs", "definitions": [["term": "AFCC", "meaning": "m"]],
                                    "figure": ["id": "prune_sr", "title": "t", "caption": "c", "png": "figures/prune_sr.png",
                                               "pdf": "figures/prune_sr.pdf", "csv": "figures/prune_sr.csv"]]
        let with = try set.render("report", ["prune": prune])
        #expect(with.contains("id=\"pruning\"") && with.contains("figures/prune_sr.png") && with.contains("href=\"#pruning\""))
        #expect(with.contains("<h3>Level 2: layers 5, 6</h3>") && with.contains("<td>0.4</td>"), "one table per level")
        let without = try set.render("report", [String: Any]())
        #expect(!without.contains("pruning"))
    }

    @Test("the filter explorer: every tile and table row carries data-layer and data-filter; its data stay escaped")
    func explorer() throws {
        let set = try TemplateSet(directory: Self.templates)
        let explorer: [String: Any] = [
            "layer": 3, "sprite": "figures/layer03_tiles.png", "topImages": 16,
            "tiles": (0..<2).map { ["layer": 3, "filter": $0, "x": $0 * 40, "y": 0, "size": 40] as [String: Any] },
            "header": [["name": "filter", "help": "h"]],
            "rows": (0..<2).map { ["layer": 3, "filter": $0, "cells": [["value": "1", "text": "1"]]] as [String: Any] },
        ]
        let html = try set.render("report", ["layers": [["layer": 3, "filters": 2, "explorer": explorer]],
                                             "explorerMeta": "{\"labels\": [\"<b>cat</b>\"]}"])
        for filter in 0..<2 {
            #expect(html.contains("class=\"filter-tile\" data-layer=\"3\" data-filter=\"\(filter)\""))
            #expect(html.contains("<tr data-layer=\"3\" data-filter=\"\(filter)\">"))
        }
        #expect(html.contains("data-meta=\"{&quot;labels&quot;: [&quot;&lt;b&gt;cat&lt;/b&gt;&quot;]}\""), "JSON in an escaped attribute")
        #expect(html.contains("window.FilterLensExplorer"), "the explorer's script is inline")
        let plain = try set.render("report", [String: Any]())
        #expect(!plain.contains("filter-tile\" data-layer"), "no explorer without its data")
    }

    @Test("the figure partial links the PDF, PNG and CSV")
    func figurePartial() throws {
        let set = try TemplateSet(directory: Self.templates)
        let html = try set.render("figure", ["id": "sr", "title": "SR", "caption": "c", "png": "figures/sr.png",
                                             "pdf": "figures/sr.pdf", "csv": "figures/sr.csv"])
        for link in ["figures/sr.png", "figures/sr.pdf", "figures/sr.csv"] { #expect(html.contains("href=\"\(link)\"")) }
    }

    @Test("a missing templates folder is one clear error")
    func missingFolder() {
        let error = #expect(throws: ReportError.self) { try TemplateSet(directory: URL(fileURLWithPath: "/nonexistent/templates")) }
        #expect(error?.description.contains("--templates") == true)
    }

    @Test("the report opens offline: no remote resources")
    func offline() throws {
        for name in ["report", "compare", "figure", "style"] {
            let text = try String(contentsOf: Self.templates.appendingPathComponent(name + ".mustache"), encoding: .utf8)
            #expect(!text.contains("http://") && !text.contains("https://"), "\(name) references the network")
        }
    }
}
