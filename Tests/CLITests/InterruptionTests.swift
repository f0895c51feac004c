import Foundation
import HDF5
import Testing

@Suite("interrupted and diverging runs", .serialized)
struct InterruptionTests {
    /// Starts `filterlens` in the background.
    func launch(_ arguments: [String], in directory: URL) throws -> Process {
        let process = Process()
        process.executableURL = filterlensBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = cliEnvironment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until `file` exists (at most `seconds`).
    func waitFor(_ file: URL, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: file.path) { return true }
            usleep(20_000)
        }
        return false
    }

    @Test("a run killed with SIGKILL after a checkpoint resumes to the uninterrupted result; SIGINT exits 130")
    func killAndResume() throws {
        let root = try makeTinyDataset(trainPerFile: 400, test: 100)
        defer { try? FileManager.default.removeItem(at: root) }
        let common = ["--preset", "tiny", "--data", "data", "--subset", "1000", "--test-subset", "100", "--epochs", "3", "--seed", "3"]
        let whole = try runFilterLens(["train"] + common + ["--out", "whole"], in: root)
        #expect(whole.status == 0, "\(whole.errors)")

        let victim = try launch(["train"] + common + ["--out", "killed"], in: root)
        let checkpoint = root.appendingPathComponent("killed/checkpoint.h5")
        #expect(waitFor(checkpoint, seconds: 60), "a checkpoint appears after the first epoch")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("killed/run.h5").path) || victim.terminationStatus == 0)
        let resumed = try runFilterLens(["train", "--resume", "--out", "killed"], in: root)
        #expect(resumed.status == 0, "\(resumed.errors)")
        let a = try H5File.open(root.appendingPathComponent("whole/run.h5").path)
        let b = try H5File.open(root.appendingPathComponent("killed/run.h5").path)
        for name in ["weights/conv1/weight", "weights/conv2/bn/running_var", "weights/fc1/bias", "training/test_sr"] {
            #expect(try a.root.openDataset(name).read(as: Double.self) == b.root.openDataset(name).read(as: Double.self), "\(name)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("killed").path)
            .filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "stale temporaries removed: \(leftovers)")

        let interrupted = try launch(["train"] + common + ["--out", "interrupted"], in: root)
        #expect(waitFor(root.appendingPathComponent("interrupted"), seconds: 30), "the run starts")
        usleep(200_000)
        kill(interrupted.processIdentifier, SIGINT)
        interrupted.waitUntilExit()
        #expect(interrupted.terminationStatus == 130)
    }

    @Test("a diverging loss stops the run with a clear message")
    func divergence() throws {
        let root = try makeTinyDataset(trainPerFile: 100, test: 50)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--subset", "500", "--test-subset", "50",
                                        "--lr", "1e30", "--warmup", "0", "--epochs", "2", "--out", "nan"], in: root)
        #expect(result.status != 0)
        #expect(result.errors.contains("diverged"), "\(result.errors)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("nan/run.h5").path))
    }

    @Test("a NaN test loss at an epoch's end stops the run like a NaN training loss")
    func divergingTestLoss() throws {
        let root = try makeTinyDataset(trainPerFile: 100, test: 50)
        defer { try? FileManager.default.removeItem(at: root) }
        // The recipe: one small epoch at a huge rate keeps the training loss finite but the test loss NaN.
        let result = try runFilterLens(["train", "--arch", "64 64 M", "--data", "data", "--subset", "200", "--test-subset", "50",
                                        "--lr", "1e6", "--epochs", "1", "--out", "nan-test"], in: root)
        #expect(result.status != 0)
        #expect(result.errors.contains("diverged: test loss"), "\(result.errors)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("nan-test/run.h5").path))
    }
}
