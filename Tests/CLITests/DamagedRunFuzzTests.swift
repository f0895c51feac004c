import Foundation
import Testing
import TestSupport

/// The whole command line against damaged run files: each damaged copy of a real run's run.h5, probe.h5 or activations.h5 is
/// analysed by a fresh `filterlens analyze` process, which must end on its own (exit 0, or exit 1 with one error
/// line) within seconds: no crash, no hang. The HDF5 call guard runs with a 2 s limit, so a file on which the library
/// loops forever or faults also ends in one error line. Unlike the in-process reader fuzz test, a hang here costs one process.
@Suite("the command line under damaged run files", .serialized)
struct DamagedRunFuzzTests {
    /// Damaged copies per suite run; FILTERLENS_CLI_FUZZ_COUNT raises it for a long one-off run.
    static let count = fuzzTrials("FILTERLENS_CLI_FUZZ_COUNT", standard: 40)
    /// Trials before this one are drawn but not run (FILTERLENS_CLI_FUZZ_FIRST), to repeat one late trial.
    static let first = fuzzTrials("FILTERLENS_CLI_FUZZ_FIRST", standard: 0)
    /// Where the input of a failing trial is kept for reproduction.
    static let failures = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-fuzz-failures")

    @Test("damaged run.h5, probe.h5 and activations.h5 end in exit 0 or one error line, never a crash or a hang (40 by default)")
    func analyzeDamagedRuns() throws {
        let root = try makeTinyDataset(trainPerFile: 100, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        let train = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--subset", "300", "--test-subset", "100",
                                       "--epochs", "1", "--out", "good"], in: root)
        #expect(train.status == 0, "\(train.errors)")
        #expect(try runFilterLens(["probe", "good", "--probe-epochs", "1"], in: root).status == 0)
        let files = ["run.h5", "probe.h5", "activations.h5"].map { name in
            (name, try? Data(contentsOf: root.appendingPathComponent("good/\(name)")))
        }
        var random = FuzzRandom(seed: 0xDA_4A6E)
        var passed = 0, refused = 0
        for trial in 0..<Self.count {
            let directory = root.appendingPathComponent("damaged")
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let (victim, original) = files[trial % files.count]
            for (name, data) in files where name != victim { try data!.write(to: directory.appendingPathComponent(name)) }
            var bytes = try #require(original)
            if trial % 5 == 4 {
                bytes = bytes.prefix(random.next() % bytes.count)
            } else {
                for _ in 0..<(1 + random.next() % 16) { bytes[random.next() % bytes.count] = UInt8(truncatingIfNeeded: random.next()) }
            }
            guard trial >= Self.first else { continue }
            try bytes.write(to: directory.appendingPathComponent(victim))
            let started = Date()
            let result = try runFilterLens(["analyze", "damaged"], in: root, environment: ["FILTERLENS_HDF5_TIMEOUT": "2"])
            let errorLines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(Date().timeIntervalSince(started) < 30, "trial \(trial): took too long")
            if result.status != 0 && result.status != 1 {
                let kept = Self.failures.appendingPathComponent("trial-\(trial)")
                try? FileManager.default.createDirectory(at: Self.failures, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: kept)
                try? FileManager.default.copyItem(at: directory, to: kept)
                Issue.record("trial \(trial) (\(victim)): status \(result.status), input kept in \(kept.path): \(result.errors)")
            }
            if result.status == 1 {
                #expect(errorLines.count == 1 && errorLines[0].contains("damaged/"), "trial \(trial): \(result.errors)")
                refused += 1
            } else if result.status == 0 {
                passed += 1
            }
        }
        #expect(passed + refused == max(Self.count - Self.first, 0), "every trial ended in exit 0 or 1")
        #expect(refused > 0)
    }
}
