import Foundation
import HDF5
import Testing

@Suite("filterlens end to end", .serialized)
struct EndToEndTests {
    @Test("run trains, probes, analyzes and reports a tiny model")
    func fullRun() throws {
        let root = try makeTinyDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(["run", "--preset", "tiny", "--data", "data", "--out", "runs/tiny", "--epochs", "2",
                                        "--subset", "500", "--test-subset", "200"], in: root)
        #expect(result.status == 0, "\(result.errors)")
        let run = root.appendingPathComponent("runs/tiny")
        for name in ["run.h5", "activations.h5", "probe.h5", "analysis.h5", "layers.csv", "report.html", "checkpoint.h5"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name) missing")
        }
        #expect(result.output.contains("report: "))
        let csv = try String(contentsOf: run.appendingPathComponent("layers.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3, "header and two layers")
        let file = try H5File.open(run.appendingPathComponent("run.h5").path)
        let sr = try file.root.openDataset("training/test_sr").read(as: Double.self)
        let trainSR = try file.root.openDataset("training/train_sr").read(as: Double.self)
        #expect(sr.count == 2)
        // Ten batches in all: the training SR shows the learning (0.47-0.96 over seeds, initializations and fills);
        // the test SR, read through batch-norm running statistics that ten batches have not settled, scatters more
        // (0.21-0.84), so it is held only above chance (0.1).
        #expect(trainSR.last! > 0.4, "a tiny net learns the striped data well above chance (0.1)")
        #expect(sr.last! > 0.15, "and its test SR is above chance")
        let report = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains("<table"))
        #expect(!report.contains("{{"), "every template tag is filled")
        for figure in ["sr_per_layer", "layer_measures", "layer01_filters"] {
            for ext in ["pdf", "png", "csv"] {
                #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("figures/\(figure).\(ext)").path))
            }
        }
        try crossCheckWithNumPy(run)
        let status = try runFilterLens(["status", "runs/tiny"], in: root)
        #expect(status.status == 0 && status.output.contains("2 epochs") && status.output.contains("2 probes, ")
                && status.output.contains("2 layers at threshold 0.3") && status.output.contains("every phase and the report are done"),
                "\(status.output)\(status.errors)")
        let nothing = try runFilterLens(["status", "data"], in: root)
        #expect(nothing.status == 1 && nothing.errors.contains("data: no run here"), "one line naming the folder: \(nothing.errors)")
        let compare = try runFilterLens(["compare", "runs/tiny", "runs/tiny", "--out", "cmp"], in: root)
        #expect(compare.status == 0, "\(compare.errors)")
        let comparison = try String(contentsOf: root.appendingPathComponent("cmp/compare.html"), encoding: .utf8)
        #expect(comparison.contains("<th>epochs</th><th>full SR</th>") && comparison.contains("</td><td>2</td><td>"),
                "each run's phase 1 epochs beside its SR")
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("cmp/figures/compare_snr.pdf").path))
        try publishExampleReport(of: "runs/tiny", in: root)
    }

    /// scripts/publish_example_report.sh copies the run with its HDF5 files less their bulk (run.h5 without
    /// /weights, probe.h5 without the probes' weights, analysis.h5 whole), gzips the per-filter CSVs, relinks them,
    /// names the files left out without a link, and checks every local link of the copy.
    /// Then, with `--keep-published`, a run published earlier (here: the copy renamed) is carried over and compared
    /// again from its HDF5 copies; one published without them is listed apart, beside the earlier comparison that
    /// held it (comparison-earlier/); without the flag, both are dropped.
    func publishExampleReport(of run: String, in root: URL) throws {
        let copy = root.appendingPathComponent("published")
        try publish([root.appendingPathComponent(run).path], to: copy)
        let name = URL(fileURLWithPath: run).lastPathComponent
        for path in ["index.html", "README.md", "comparison/compare.html", "\(name)/report.html",
                     "\(name)/figures/layer01_filters.csv.gz", "\(name)/figures/layer01_filters.png"] {
            #expect(FileManager.default.fileExists(atPath: copy.appendingPathComponent(path).path), "\(path) missing")
        }
        let files = FileManager.default.enumerator(atPath: copy.path)?.compactMap { $0 as? String } ?? []
        #expect(Set(files.filter { $0.hasSuffix(".h5") }) == ["\(name)/run.h5", "\(name)/probe.h5", "\(name)/analysis.h5"],
                "the three published HDF5 copies, and no activations: \(files)")
        let publishedRun = try H5File.open(copy.appendingPathComponent("\(name)/run.h5").path)
        #expect(!publishedRun.root.contains("weights") && publishedRun.root.contains("training/test_sr"))
        let publishedProbe = try H5File.open(copy.appendingPathComponent("\(name)/probe.h5").path)
        #expect(!publishedProbe.root.contains("layer01/weight") && publishedProbe.root.contains("layer01/test_sr"))
        let refused = try runFilterLens(["analyze", copy.appendingPathComponent(name).path], in: root)
        #expect(refused.status != 0 && refused.errors.contains("activations.h5"),
                "a published copy has no activations to analyse: \(refused.errors)")
        let report = try String(contentsOf: copy.appendingPathComponent("\(name)/report.html"), encoding: .utf8)
        #expect(report.contains("href=\"figures/layer01_filters.csv.gz\"") && !report.contains("layer01_filters.csv\""))
        #expect(report.contains("<li>activations.h5 (") && !report.contains("href=\"activations.h5\""),
                "a file left out is named without a link (scripts/publish_report_html.py)")
        #expect(report.contains("<a href=\"run.h5\">run.h5</a>") && report.contains("published copy: "),
                "a published copy keeps its link and gives its size")
        #expect(report.contains("h5py.File(&quot;analysis.h5&quot;)"), "the h5py example opens the folder's copy")

        try FileManager.default.moveItem(at: copy.appendingPathComponent(name), to: copy.appendingPathComponent("earlier"))
        try publish(["--keep-published", root.appendingPathComponent(run).path], to: copy)
        for path in ["\(name)/report.html", "earlier/report.html", "earlier/figures/layer01_filters.csv.gz"] {
            #expect(FileManager.default.fileExists(atPath: copy.appendingPathComponent(path).path), "\(path) missing")
        }
        let index = try String(contentsOf: copy.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("href=\"earlier/report.html\"") && !index.contains("not in the comparison"), "\(index)")
        let comparison = try String(contentsOf: copy.appendingPathComponent("comparison/compare.html"), encoding: .utf8)
        #expect(comparison.contains(">earlier<") && comparison.contains(">\(name)<"),
                "the run carried over is compared again from its HDF5 copies")

        for file in ["run.h5", "probe.h5", "analysis.h5"] {   // as published before the copies existed
            try FileManager.default.removeItem(at: copy.appendingPathComponent("earlier/\(file)"))
        }
        try publish(["--keep-published", root.appendingPathComponent(run).path], to: copy)
        let apart = try String(contentsOf: copy.appendingPathComponent("index.html"), encoding: .utf8)
        let apartReport = try String(contentsOf: copy.appendingPathComponent("earlier/report.html"), encoding: .utf8)
        #expect(!apartReport.contains("href=\"run.h5\"") && apartReport.contains("<li>run.h5 ("),
                "the report of a run carried over without copies links none")
        #expect(apart.contains("href=\"earlier/report.html\"") && apart.contains("not in the comparison"), "\(apart)")
        #expect(apart.contains("href=\"comparison-earlier/compare.html\"") && FileManager.default.fileExists(
            atPath: copy.appendingPathComponent("comparison-earlier/compare.html").path), "the comparison that held it is kept")
        try publish([root.appendingPathComponent(run).path], to: copy)
        #expect(!FileManager.default.fileExists(atPath: copy.appendingPathComponent("comparison-earlier").path))
        #expect(!FileManager.default.fileExists(atPath: copy.appendingPathComponent("earlier").path),
                "without --keep-published only the runs given are published")
    }

    /// Runs scripts/publish_example_report.sh with `arguments` into `folder`; expects exit 0.
    func publish(_ arguments: [String], to folder: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", scriptsFolder.appendingPathComponent("publish_example_report.sh").path,
                             "--out", folder.path] + arguments
        process.environment = cliEnvironment(["FILTERLENS": filterlensBinary.path])
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
    }

    /// The repository's scripts folder.
    var scriptsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts")
    }

    /// The independent NumPy reference recomputes analysis.h5 from run.h5 and activations.h5 (h5py) and must agree;
    /// scripts/findings_tables.py reads the same files into docs/findings.md's tables.
    func crossCheckWithNumPy(_ run: URL) throws {
        let scripts = scriptsFolder
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import numpy, h5py"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            print("skipped: NumPy cross-check needs python3 with numpy and h5py (scripts/setup.sh installs them)")
            return
        }
        let check = try python(scripts.appendingPathComponent("analysis_reference.py"), ["--run", run.path])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("all agree"), "\(check.output)")
        let tables = try python(scripts.appendingPathComponent("findings_tables.py"), [run.path])
        #expect(tables.status == 0, "\(tables.output)")
        let layerRows = tables.output.split(separator: "\n").filter { $0.hasPrefix("| 1 | ") || $0.hasPrefix("| 2 | ") }
        #expect(layerRows.count == 2, "one row per layer: \(tables.output)")
        #expect(tables.output.contains("`snr_cluster`") && tables.output.contains("Trends with depth"), "\(tables.output)")
        #expect(tables.output.contains("**Phase 1**: test SR per epoch") && tables.output.contains("| SR(2) |"), "\(tables.output)")
        // scripts/seed_spread.py: a run against itself lies 0 apart in every measure.
        let spread = try python(scripts.appendingPathComponent("seed_spread.py"), [run.path, run.path])
        let rows = spread.output.split(separator: "\n").filter { $0.hasPrefix("| `") }
        #expect(spread.status == 0 && rows.count >= 10 && rows.allSatisfy { $0.hasSuffix("| 0 (layer 1) |") }, "\(spread.output)")
    }

    /// Runs `script` with python3; its exit status and standard output.
    func python(_ script: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test("an interrupted run resumes to the same weights as an uninterrupted one")
    func resumeMatches() throws {
        let root = try makeTinyDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let common = ["--preset", "tiny", "--data", "data", "--subset", "300", "--test-subset", "100", "--seed", "7"]
        let whole = try runFilterLens(["train"] + common + ["--epochs", "2", "--out", "whole"], in: root)
        #expect(whole.status == 0, "\(whole.errors)")
        let first = try runFilterLens(["train"] + common + ["--epochs", "1", "--out", "parts"], in: root)
        #expect(first.status == 0, "\(first.errors)")
        let second = try runFilterLens(["train", "--resume", "--epochs", "2", "--out", "parts"], in: root)
        #expect(second.status == 0, "\(second.errors)")
        #expect(second.output.contains("resuming after epoch 1"))
        let a = try H5File.open(root.appendingPathComponent("whole/run.h5").path)
        let b = try H5File.open(root.appendingPathComponent("parts/run.h5").path)
        for name in ["weights/conv1/weight", "weights/conv2/bn/running_mean", "weights/fc1/weight", "training/test_sr"] {
            let x = try a.root.openDataset(name).read(as: Double.self)
            let y = try b.root.openDataset(name).read(as: Double.self)
            #expect(x == y, "\(name) differs after resume")
        }
    }

    @Test("bad input gives one error line and a non-zero exit", arguments: [
        (["train", "--preset", "nope"], "unknown preset"),
        (["train", "--arch", "64 6x4 M"], "6x4"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--data", "/nonexistent/cifar", "--out", "r"], "/nonexistent/cifar"),
        (["analyze", "missing-run"], "missing-run/run.h5"),
        (["analyze", "bad", "--threshold", "2"], "--threshold"),
        (["train", "--preset", "tiny", "--data", "data", "--out", "/proc/filterlens-test/run"], "/proc/filterlens-test/run"),
        (["train", "--preset", "tiny", "--data", "data", "--batch", "100000", "--out", "r"], "error: --batch 100000: "),
    ])
    func badInput(arguments: [String], mentions: String) throws {
        let root = try makeTinyDataset(trainPerFile: 1, test: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(arguments, in: root)
        #expect(result.status != 0)
        #expect(result.errors.contains(mentions), "stderr: \(result.errors)")
        #expect(!result.errors.contains("Fatal error"), "no crash")
    }

    @Test("a foreign HDF5 file and an existing run directory are refused")
    func refusals() throws {
        let root = try makeTinyDataset(trainPerFile: 20, test: 20)
        defer { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("plain text, not HDF5".utf8).write(to: run.appendingPathComponent("run.h5"))
        let foreign = try runFilterLens(["analyze", "foreign"], in: root)
        #expect(foreign.status != 0)
        #expect(foreign.errors.contains("foreign/run.h5") && foreign.errors.contains("not an HDF5 file"))
        #expect(foreign.errorLines.count == 1, "\(foreign.errors)")

        let common = ["train", "--preset", "tiny", "--data", "data", "--subset", "100", "--test-subset", "20", "--out", "r"]
        #expect(try runFilterLens(common, in: root).status == 0)
        let again = try runFilterLens(common, in: root)
        #expect(again.status != 0 && again.errors.contains("--force"))
        #expect(try runFilterLens(common + ["--force"], in: root).status == 0)

        // A damaged checkpoint: one line naming it and the way out (--force; rerunning would only be refused).
        let checkpoint = root.appendingPathComponent("damaged/checkpoint.h5")
        try FileManager.default.createDirectory(at: checkpoint.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(repeating: 0x5A, count: 4096).write(to: checkpoint)
        let damaged = try runFilterLens(["train", "--resume", "--out", "damaged"], in: root)
        #expect(damaged.status != 0 && damaged.errorLines.count == 1, "\(damaged.errors)")
        #expect(damaged.errors.contains("damaged/checkpoint.h5") && damaged.errors.contains("--force"), "\(damaged.errors)")
    }

    @Test("--help lists the commands")
    func help() throws {
        let result = try runFilterLens(["--help"], in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0)
        for command in ["run", "data", "train", "probe", "analyze", "report", "compare", "bench"] {
            #expect(result.output.contains(command))
        }
    }
}
