import CIFAR
import Foundation
import HDF5
import Testing

/// Phase 2 writes probe.h5 and no other file; a probe.h5 of another run.h5 is refused.
@Suite("phase 2's probe.h5", .serialized)
struct ProbeFileTests {
    static let training = ["train", "--preset", "tiny", "--data", "data", "--subset", "200", "--test-subset", "100"]

    /// Size, modification time and MD5 of `url`.
    static func fingerprint(_ url: URL) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        return "\(attributes[.size] ?? -1) \(modified) \(MD5.hex(try Data(contentsOf: url)))"
    }

    @Test("phase 2 leaves run.h5 byte for byte as phase 1 wrote it, and probe.h5 names it by its run_id")
    func runFileUntouched() throws {
        let root = try makeTinyDataset(trainPerFile: 40, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try runFilterLens(Self.training + ["--out", "run"], in: root).status == 0)
        let runFile = root.appendingPathComponent("run/run.h5")
        let before = try Self.fingerprint(runFile)
        let probe = try runFilterLens(["probe", "run", "--probe-epochs", "2"], in: root)
        #expect(probe.status == 0, "\(probe.errors)")
        #expect(probe.output.contains("wrote \(root.appendingPathComponent("run/probe.h5").path)"), "\(probe.output)")
        #expect(try Self.fingerprint(runFile) == before, "size, modification time and checksum unchanged")
        let run = try H5File.open(runFile.path).root, probes = try H5File.open(root.appendingPathComponent("run/probe.h5").path).root
        #expect(try run.intAttribute("format_version") == 2 && !run.contains("probe"))
        #expect(try probes.stringAttribute("run_id") == run.stringAttribute("run_id"))
        #expect(try probes.openGroup("recipe").intAttribute("epochs") == 2)
        #expect(try probes.openDataset("layer02/test_sr").read(as: Double.self).count == 2)
        // Phase 3 and the report read it; they leave run.h5 as it was too.
        #expect(try runFilterLens(["analyze", "run"], in: root).status == 0)
        #expect(try runFilterLens(["report", "run"], in: root).status == 0)
        #expect(try Self.fingerprint(runFile) == before)
        let analysis = try H5File.open(root.appendingPathComponent("run/analysis.h5").path).root
        #expect(try analysis.stringAttribute("source_probe") == "probe.h5")
        // Phase 1 run again writes a new run.h5 and removes the probes made from the old one.
        let again = try runFilterLens(Self.training + ["--out", "run", "--force"], in: root)
        #expect(again.status == 0, "\(again.errors)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("run/probe.h5").path))
    }

    @Test("--probe-seed gives the heads another seed, recorded in probe.h5; the default is the run's seed + 7919")
    func probeSeed() throws {
        let root = try makeTinyDataset(trainPerFile: 40, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try runFilterLens(Self.training + ["--out", "run", "--seed", "3"], in: root).status == 0)
        var weights: [[Float]] = []
        for (flags, seed) in [([String](), 3 + 7919), (["--probe-seed", "5"], 5)] {
            let probe = try runFilterLens(["probe", "run", "--probe-epochs", "1"] + flags, in: root)
            #expect(probe.status == 0 && probe.output.contains("seed \(seed)"), "\(probe.output)\(probe.errors)")
            let probes = try H5File.open(root.appendingPathComponent("run/probe.h5").path).root
            #expect(try probes.openGroup("recipe").intAttribute("seed") == seed)
            weights.append(try probes.openDataset("layer01/weight").read(as: Float.self))
        }
        #expect(weights[0].count == weights[1].count && weights[0] != weights[1], "another seed, other heads")
    }

    @Test("a probe.h5 from another run.h5 is refused in one line naming it and the fix; probing again replaces it")
    func probesOfAnotherRun() throws {
        let root = try makeTinyDataset(trainPerFile: 40, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["a", "b"] {
            #expect(try runFilterLens(Self.training + ["--out", name], in: root).status == 0)
        }
        #expect(try runFilterLens(["probe", "a", "--probe-epochs", "1"], in: root).status == 0)
        let stale = root.appendingPathComponent("b/probe.h5")
        try FileManager.default.copyItem(at: root.appendingPathComponent("a/probe.h5"), to: stale)
        for command in [["analyze", "b"], ["probe", "--resume", "b", "--probe-epochs", "1"]] {
            let result = try runFilterLens(command, in: root)
            #expect(result.status == 1, "\(command): \(result.errors)")
            let lines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(lines.count == 1, "\(command): \(result.errors)")
            #expect(lines.first?.contains("\(stale.path) [/@run_id]: made for another run.h5") == true, "\(result.errors)")
            #expect(lines.first?.contains("run `filterlens probe \(root.appendingPathComponent("b").path)` to probe this run again") == true,
                    "\(result.errors)")
        }
        #expect(try runFilterLens(["probe", "b", "--probe-epochs", "1"], in: root).status == 0)
        #expect(try runFilterLens(["analyze", "b"], in: root).status == 0)
    }
}
