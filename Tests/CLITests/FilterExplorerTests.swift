import Foundation
import Report
import HDF5
import RunStore
import Testing

/// Issue 37: phase 3 records every filter's top images, and the report's explorer opens a filter's panel in a
/// headless browser (Debian's chromium, which scripts/setup.sh installs), offline from file://.
@Suite("filter explorer", .serialized)
struct FilterExplorerTests {
    static let k = 6

    @Test("analyze keeps each filter's k images of largest mean output; the report's panel shows its matrix and them")
    func topImagesAndPanel() throws {
        let root = try makeTinyDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(["run", "--preset", "tiny", "--data", "data", "--out", "runs/tiny", "--epochs", "1",
                                        "--subset", "300", "--test-subset", "200", "--top-images", String(Self.k)], in: root)
        #expect(result.status == 0, "\(result.errors)")
        let run = root.appendingPathComponent("runs/tiny")
        let analysis = try H5File.open(run.appendingPathComponent("analysis.h5").path)
        let activations = try H5File.open(run.appendingPathComponent("activations.h5").path)
        #expect(try analysis.root.doubleAttribute("top_images") == Double(Self.k), "k is recorded")
        let labels = try activations.root.openDataset("labels").read(as: Int32.self)
        #expect(try analysis.root.openDataset("images_per_label").read(as: Int64.self).reduce(0, +) == Int64(labels.count))

        // Layer 1's top images against a ranking of its stored block outputs: mean over H x W, largest first, the
        // earlier image first at equal values.
        let block = try activations.root.openDataset("layer01")
        let (images, channels, plane) = (block.shape[0], block.shape[1], block.shape[2] * block.shape[3])
        let values = try block.read(as: Float.self)
        let group = try analysis.root.openGroup("layers/layer01")
        let top = try group.openDataset("top_images")
        #expect(top.shape == [channels, Self.k])
        let indices = try top.read(as: Int64.self)
        let means = try group.openDataset("top_activations").read(as: Double.self)
        let topLabels = try group.openDataset("top_labels").read(as: Int32.self)
        for f in 0..<channels {
            let mean = (0..<images).map { image in
                Double((0..<plane).reduce(Float(0)) { $0 + values[(image * channels + f) * plane + $1] }) / Double(plane)
            }
            let expected = (0..<images).sorted { mean[$0] != mean[$1] ? mean[$0] > mean[$1] : $0 < $1 }.prefix(Self.k)
            let kept = Array(indices[(f * Self.k)..<((f + 1) * Self.k)]).map { Int($0) }
            #expect(kept == Array(expected), "filter \(f): the \(Self.k) images of largest mean output, in order")
            for rank in 0..<Self.k {
                #expect(abs(means[f * Self.k + rank] - mean[kept[rank]]) <= 1e-5 * max(1, abs(mean[kept[rank]])))
                #expect(topLabels[f * Self.k + rank] == labels[kept[rank]])
            }
        }

        let report = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        for remote in ["src=\"http", "href=\"http://", "url(http", "src=\"//"] {
            #expect(!report.contains(remote), "nothing is fetched from the network: \(remote)")
        }
        // A layer past the explorer's size says so, and nothing of the explorer is written (a copy of the run, its
        // report made with a limit no layer fits).
        let copy = root.appendingPathComponent("runs/limited")
        try FileManager.default.copyItem(at: run, to: copy)
        let limited = try String(contentsOf: try RunReport.write(directory: copy, templates: TemplateSet(directory: TemplateSet.locate(explicit: nil)),
                                                                 explorerElements: 0), encoding: .utf8)
        #expect(!limited.contains("class=\"filter-tile\"") && !limited.contains("every filter</h3>"))
        #expect(limited.contains("The per-filter explorer is left out for this layer"))
        guard let browser = headlessBrowser() else {
            if ProcessInfo.processInfo.environment["FILTERLENS_REQUIRE_BROWSER"] == "1" {
                Issue.record("no chromium on PATH, but scripts/test.sh ran setup, which installs it")
            } else {
                print("filter explorer: skipping the browser checks: no chromium on PATH (scripts/setup.sh installs Debian's chromium)")
            }
            return
        }
        let page = run.appendingPathComponent("report.html")
        let closed = try dumpDOM(browser, url: page.absoluteString)
        let tiles = matches(of: #"<button type="button" class="filter-tile" data-layer="1" data-filter="(\d+)""#, in: closed)
        #expect(tiles == (0..<channels).map(String.init), "a tile per filter of layer 1, each with data-layer and data-filter")
        #expect(!closed.contains("figures/images/test-"), "no top image is loaded before its panel opens")

        // Open filter 2's panel as a link does (#filter-L-F clicks the filter's tile).
        let filter = 2
        let open = try dumpDOM(browser, url: page.absoluteString + "#filter-1-\(filter)")
        guard let start = open.range(of: "<section class=\"filter-panel\""),
              let end = open.range(of: "</section>", range: start.upperBound..<open.endIndex) else {
            Issue.record("no filter panel in the page after opening it")
            return
        }
        let panel = String(open[start.lowerBound..<end.upperBound])
        #expect(panel.contains("data-layer=\"1\"") && panel.contains("data-filter=\"\(filter)\""))
        guard let svgStart = panel.range(of: "<svg class=\"matrix normalized\""),
              let svgEnd = panel.range(of: "</svg>", range: svgStart.upperBound..<panel.endIndex) else {
            Issue.record("no normalized matrix in the panel")
            return
        }
        let shown = matches(of: #"<rect [^>]*data-value="([^"]+)""#, in: String(panel[svgStart.lowerBound..<svgEnd.upperBound])).map { Double($0)! }
        // analysis.h5 (layout version 3) derives the normalized matrices from raw and scale.
        let normalized = try AnalysisFileReader(run.appendingPathComponent("analysis.h5")).matrices(layer: 1, "normalized").values
        let cells = normalized.count / channels
        #expect(shown.count == cells, "every element of the \(Int(Double(cells).squareRoot()))-label matrix")
        for (index, value) in shown.enumerated() where index < cells {
            #expect(abs(value - normalized[filter * cells + index]) <= 1e-4, "element \(index) is the filter's own")
        }
        let shownImages = matches(of: #"<li class="top-image[^"]*" data-index="(\d+)""#, in: panel).map { Int($0)! }
        #expect(shownImages == Array(indices[(filter * Self.k)..<((filter + 1) * Self.k)]).map { Int($0) },
                "the filter's k top images, in rank order")
        let sources = matches(of: #"<img src="([^"]+)""#, in: panel)
        #expect(sources.count == Self.k)
        for source in sources {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(source).path), "\(source) was written")
        }
    }

    /// Debian's chromium (or Chrome) on PATH; nil when there is none.
    func headlessBrowser() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for folder in path.split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return nil
    }

    /// The page at `url` as headless `browser` leaves it once its scripts ran (and the local scripts they load),
    /// with no network; killed after a minute.
    func dumpDOM(_ browser: URL, url: String) throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = browser
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                             "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000", "--dump-dom", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let watchdog = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        #expect(process.terminationStatus == 0, "chromium exited with \(process.terminationStatus)")
        return String(decoding: data, as: UTF8.self)
    }

    /// The first capture group of every match of `pattern` in `text`.
    func matches(of pattern: String, in text: String) -> [String] {
        let expression = try! NSRegularExpression(pattern: pattern)
        return expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
