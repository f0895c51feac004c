import Foundation
import HDF5
import Testing

@Suite("run files written by other tools")
struct ForeignRunTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Whether python3 imports `module` (e.g. "filterlens_torch": `pip install ./python`).
    static func pythonHas(_ module: String) -> Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import \(module)"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test("a run dissected in PyTorch by filterlens-torch (fields.h5, no activations.h5) is analysed and reported",
          .enabled(if: pythonHas("filterlens_torch"), "needs python3 with filterlens-torch: pip install ./python"))
    func torchRun() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-foreign-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dissect = Process()
        dissect.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        dissect.arguments = ["python3", "-m", "filterlens_torch.demo", root.path]
        dissect.standardOutput = FileHandle.nullDevice
        try dissect.run()
        dissect.waitUntilExit()
        #expect(dissect.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("fields.h5").path))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("activations.h5").path))
        let analyze = try runFilterLens(["analyze", root.path], in: Self.repository)
        #expect(analyze.status == 0, "\(analyze.errors)")
        #expect(analyze.output.contains("phase 3"))
        let report = try runFilterLens(["report", root.path], in: Self.repository)
        #expect(report.status == 0, "\(report.errors)")
        let html = try String(contentsOf: root.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("fields.h5"))
    }

    @Test("a misshaped head names the dataset")
    func misshapedHead() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-misshaped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            let run = try H5File.create(root.appendingPathComponent("run.h5").path)
            try run.root.setAttribute("format", "filterlens-run")
            try run.root.setAttribute("format_version", 1)
            try run.root.setAttribute("label_names", ["a", "b"])
            let head = try run.root.createGroup("probe/layer01")
            try head.setAttribute("channels", 2)
            try head.setAttribute("height", 2)
            try head.setAttribute("width", 2)
            try head.write("weight", [Float](repeating: 0, count: 14), shape: [2, 7])
            let acts = try H5File.create(root.appendingPathComponent("activations.h5").path)
            try acts.root.setAttribute("format", "filterlens-activations")
            try acts.root.setAttribute("format_version", 1)
            try acts.root.write("labels", [Int32(0), 1], shape: [2])
            try acts.root.write("layer01", [Float](repeating: 1, count: 16), shape: [2, 2, 2, 2])
        }
        let result = try runFilterLens(["analyze", root.path], in: root)
        #expect(result.status != 0)
        #expect(result.errors.contains("/probe/layer01/weight"), "\(result.errors)")
        #expect(result.errors.contains("shape 2 x 7, expected 2 x 8"), "\(result.errors)")
    }

    /// Fixtures/hanging-run.h5 is a damaged run.h5 found by the run-file fuzz test (FILTERLENS_FUZZ_COUNT=3000, file
    /// 325): HDF5 1.10.8 never returns from reading one of its string attributes. The call guard must turn that into
    /// one error line and exit 1.
    @Test("a damaged file on which HDF5 loops forever ends in one error line, not a hang")
    func hangingFile() throws {
        let fixture = try #require(Bundle.module.url(forResource: "hanging-run", withExtension: "h5", subdirectory: "Fixtures"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-hang-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: fixture, to: root.appendingPathComponent("run.h5"))
        let started = Date()
        let result = try runFilterLens(["probe", root.path], in: root, environment: ["FILTERLENS_HDF5_TIMEOUT": "1"])
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(result.errorLines.count == 1, "\(result.errors)")
        #expect(result.errors.contains("run.h5: the HDF5 library spent"), "\(result.errors)")
        #expect(result.errors.contains("damaged"), "\(result.errors)")
    }

    /// Damaged run.h5 files found by the command-line fuzz test on which HDF5 1.10.8 itself fails:
    /// crashing-run.h5 (FILTERLENS_CLI_FUZZ_COUNT=3000, trial 2132) faults in a memcpy under H5HG_read reading the
    /// label names; aborting-run.h5 (FILTERLENS_CLI_FUZZ_COUNT=10000, trial 8592) makes glibc abort on a corrupted
    /// heap in H5Fclose. The call guard must turn each into one error line and exit 1.
    @Test("a damaged file on which HDF5 crashes ends in one error line, not a crash",
          arguments: ["crashing-run", "aborting-run"])
    func crashingFile(_ name: String) throws {
        let fixture = try #require(Bundle.module.url(forResource: name, withExtension: "h5", subdirectory: "Fixtures"))
        let root = try makeTinyDataset(trainPerFile: 50, test: 50)
        defer { try? FileManager.default.removeItem(at: root) }
        let trained = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--subset", "100", "--test-subset", "50",
                                         "--epochs", "1", "--out", "run"], in: root)
        #expect(trained.status == 0, "\(trained.errors)")
        let run = root.appendingPathComponent("run/run.h5")
        try FileManager.default.removeItem(at: run)
        try FileManager.default.copyItem(at: fixture, to: run)
        let result = try runFilterLens(["analyze", "run"], in: root)
        #expect(result.status == 1, "\(result.errors)")
        let errorLines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errorLines.count == 1, "\(result.errors)")
        #expect(errorLines.first?.contains("run/run.h5: the HDF5 library crashed") == true, "\(result.errors)")
    }
}
