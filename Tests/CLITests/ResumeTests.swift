import Analysis
import Foundation
import HDF5
import Pipeline
import RunStore
import Testing
import Training

/// Interruptions inside an epoch and in every phase: the resumed run must end with the same numbers, bit for bit.
@Suite("resuming interrupted phases", .serialized)
struct ResumeTests {
    /// Common phase 1 flags: epochs long enough (about 0.5 s) for a signal to land inside one; checkpoints every 0.12 s.
    static let training = ["--preset", "tiny", "--data", "data", "--subset", "3000", "--test-subset", "200", "--epochs", "2",
                           "--seed", "5", "--checkpoint-minutes", "0.002"]

    func launch(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = filterlensBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = cliEnvironment(environment)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func waitFor(_ file: URL, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: file.path) { return true }
            usleep(5_000)
        }
        return false
    }

    /// Every dataset under `group` of the two files, compared element for element; wall-clock timings excepted.
    func expectSameDatasets(_ a: URL, _ b: URL, under group: String) throws {
        let timings: Set<String> = ["seconds", "images_per_second"]
        let left = try H5File.open(a.path), right = try H5File.open(b.path)
        var names: [String] = []
        func collect(_ path: String) throws {
            let g = try left.root.openGroup(path)
            for name in try g.memberNames() {
                let child = path + "/" + name
                if (try? left.root.openDataset(child)) != nil { names.append(child) } else { try collect(child) }
            }
        }
        try collect(group)
        #expect(!names.isEmpty)
        for name in names {
            let x = try left.root.openDataset(name), y = try right.root.openDataset(name)
            if x.elementType == nil || timings.contains(String(name.split(separator: "/").last!)) { continue }
            let (u, v) = (try x.read(as: Double.self), try y.read(as: Double.self))
            #expect(u.count == v.count && zip(u, v).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name) differs")
        }
    }

    @Test("Ctrl-C inside an epoch saves a checkpoint there, exits 130, and --resume ends bit-identical")
    func interruptInsideEpoch() throws {
        let root = try makeTinyDataset(trainPerFile: 600, test: 200)
        defer { try? FileManager.default.removeItem(at: root) }
        let whole = try runFilterLens(["train"] + Self.training + ["--out", "whole"], in: root)
        #expect(whole.status == 0, "\(whole.errors)")

        let victim = try launch(["train"] + Self.training + ["--out", "stopped"], in: root)
        let checkpoint = root.appendingPathComponent("stopped/checkpoint.h5")
        #expect(waitFor(checkpoint), "a checkpoint appears inside epoch 1")
        // Frozen (it keeps its run lock), the victim is the run's writer: a second writer is refused, status names it.
        kill(victim.processIdentifier, SIGSTOP)
        let holder = "filterlens train (pid \(victim.processIdentifier))"
        let second = try runFilterLens(["train", "--resume", "--out", "stopped"], in: root)
        #expect(second.status == 1 && second.errors.contains("stopped: in use by \(holder) since "), "\(second.errors)")
        let atWork = try runFilterLens(["status", "stopped"], in: root)
        #expect(atWork.status == 0 && atWork.output.contains("at work now: \(holder)")
                && atWork.output.contains("next, should it stop: filterlens run --resume"), "\(atWork.output)\(atWork.errors)")
        kill(victim.processIdentifier, SIGINT)
        kill(victim.processIdentifier, SIGCONT)
        victim.waitUntilExit()
        #expect(victim.terminationStatus == 130)
        let saved = try H5File.open(checkpoint.path)
        let cursor = try saved.root.stringAttribute("cursor_json")
        #expect(cursor.contains("\"imagesDone\""), "the checkpoint holds the position inside the epoch: \(cursor)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("stopped/run.h5").path))
        let status = try runFilterLens(["status", "stopped"], in: root)
        #expect(status.status == 0 && status.output.contains("phase 1 train   in progress")
                && status.output.contains("0 of 2 epochs done") && status.output.contains("epoch 1 ")
                && status.output.contains("% done") && status.output.contains("phase 2 probe   not started")
                && status.output.contains("next: filterlens run --resume --out"), "\(status.output)\(status.errors)")

        let resumed = try runFilterLens(["train", "--resume", "--out", "stopped"], in: root)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("resuming epoch"), "\(resumed.output)")
        try expectSameDatasets(root.appendingPathComponent("whole/run.h5"), root.appendingPathComponent("stopped/run.h5"),
                               under: "/weights")
        try expectSameDatasets(root.appendingPathComponent("whole/run.h5"), root.appendingPathComponent("stopped/run.h5"),
                               under: "/training")
        let provenance = try H5File.open(root.appendingPathComponent("stopped/run.h5").path).root.openGroup("provenance")
        #expect(try provenance.stringAttribute("command_line").contains("--checkpoint-minutes"), "the launch's command line is kept")
        #expect(try provenance.stringAttribute("resumed").contains("train --resume --out stopped"), "the resume is recorded")
    }

    @Test("prune stopped by Ctrl-C inside a model's retraining saves it there, exits 130, and --resume ends bit-identical")
    func interruptPrune() throws {
        let (root, run) = try PruneCommandTests.makeDissectedRun()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: run, to: root.appendingPathComponent("runs/stopped"))
        let flags = ["--layers", "1,2", "--retrain-epochs", "4", "--control-seeds", "4", "--checkpoint-minutes", "0.002"]
        let whole = try runFilterLens(["prune", "runs/tiny"] + flags, in: root)
        #expect(whole.status == 0, "\(whole.errors)")

        let victim = try launch(["prune", "runs/stopped"] + flags, in: root)
        let checkpoint = root.appendingPathComponent("runs/stopped/prune-checkpoint.h5")
        #expect(waitFor(checkpoint), "a checkpoint appears inside the first retraining")
        kill(victim.processIdentifier, SIGINT)
        victim.waitUntilExit()
        #expect(victim.terminationStatus == 130)
        let saved = try PruneCheckpointFile.load(from: checkpoint)
        let position = try #require(saved.inProgress?.position, "the stop saves the model in retraining")
        #expect(position.cursor.imagesDone > 0)
        let status = try runFilterLens(["status", "runs/stopped"], in: root)
        #expect(status.output.contains("saved inside its retraining, epoch \(position.cursor.epoch + 1)"), "\(status.output)")

        let resumed = try runFilterLens(["prune", "runs/stopped", "--resume"] + flags, in: root)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("\(position.name) of level 1 continued at epoch \(position.cursor.epoch + 1)"), "\(resumed.output)")
        try expectSameDatasets(run.appendingPathComponent("prune.h5"),
                               root.appendingPathComponent("runs/stopped/prune.h5"), under: "/levels")
    }

    @Test("phase 2 killed inside an epoch, then phase 3 killed after a layer: --resume ends bit-identical")
    func killProbeAndAnalysis() throws {
        let root = try makeTinyDataset(trainPerFile: 600, test: 200)
        defer { try? FileManager.default.removeItem(at: root) }
        let trained = try runFilterLens(["train"] + Self.training + ["--out", "whole"], in: root)
        #expect(trained.status == 0, "\(trained.errors)")
        try FileManager.default.copyItem(at: root.appendingPathComponent("whole"), to: root.appendingPathComponent("killed"))
        // A writer at work on phase 2 before its first checkpoint: status calls phase 2 in progress, not "not started".
        let early = RunDirectory(root.appendingPathComponent("killed"))
        let atWork = try RunLock.holding(early, command: "filterlens probe", creating: false) { try RunStatus.read(early) }
        #expect(atWork.entries.map(\.state) == [.complete, .inProgress, .notStarted, .notStarted, .notRun]
                && atWork.entries[1].details.first?.hasPrefix("at work, nothing saved yet") == true
                && atWork.workingCommand?.hasPrefix("filterlens probe (pid ") == true, "\(atWork.text)")
        let probe = ["--probe-epochs", "2", "--checkpoint-minutes", "0.002"]
        #expect(try runFilterLens(["probe", "whole"] + probe, in: root).status == 0)
        #expect(try runFilterLens(["analyze", "whole"], in: root).status == 0)

        // Phase 2: SIGKILL once a checkpoint inside epoch 1 exists.
        let victim = try launch(["probe", "killed"] + probe, in: root)
        let probeCheckpoint = root.appendingPathComponent("killed/probe-checkpoint.h5")
        #expect(waitFor(probeCheckpoint))
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let probing = try runFilterLens(["status", "killed"], in: root)
        #expect(probing.status == 0 && probing.output.contains("phase 1 train   complete")
                && probing.output.contains("phase 2 probe   in progress") && probing.output.contains("of 2 epochs done (2 probes)"),
                "\(probing.output)\(probing.errors)")
        // With an epoch's time recorded, status estimates what is left of phase 2 (a copy whose checkpoint says: epoch 1
        // of 2 took 100 s, epoch 2 stopped 40 s in; status reads no buffers).
        let timed = root.appendingPathComponent("timed")
        try FileManager.default.copyItem(at: root.appendingPathComponent("killed"), to: timed)
        let timedURL = timed.appendingPathComponent(RunLayout.probeCheckpointFile)
        var progress = try ProbeCheckpointFile.load(from: timedURL, readingBuffers: false).progress
        progress.history = progress.history.map { _ in [ProbeEpoch(epoch: 1, trainLoss: 1, testSR: 0.5)] }
        progress.epochSeconds = [100]
        let cursor = EpochCursor(epoch: 1, imagesDone: 300, lossSums: progress.history.map { _ in 300 }, correct: 0, seconds: 40)
        try ProbeCheckpointFile.save(progress, cursor: cursor, to: timedURL, buffers: [])
        let estimate = try runFilterLens(["status", "timed"], in: root)
        #expect(estimate.output.contains("1 of 2 epochs done")
                && estimate.output.contains("epochs take 100 s (median): about 1m00s left in phase 2; epoch 2 "),
                "\(estimate.output)\(estimate.errors)")
        let otherFlags = try runFilterLens(["probe", "--resume", "killed", "--probe-epochs", "3", "--checkpoint-minutes", "0.002"],
                                           in: root)
        #expect(otherFlags.status == 1, "\(otherFlags.errors)")
        #expect(otherFlags.errors.contains("probe-checkpoint.h5") && otherFlags.errors.contains("epochs: 3 vs 2"),
                "names the file and the setting that differs: \(otherFlags.errors)")
        let otherSeed = try runFilterLens(["probe", "--resume", "killed", "--probe-seed", "99"] + probe, in: root)
        #expect(otherSeed.status == 1 && otherSeed.errors.contains("probe seed is") && otherSeed.errors.contains("the flags give 99")
                && otherSeed.errors.contains("resume with --probe-seed "), "\(otherSeed.errors)")
        #expect(FileManager.default.fileExists(atPath: probeCheckpoint.path), "a refused resume keeps the checkpoint")
        let resumedProbe = try runFilterLens(["probe", "--resume", "killed"] + probe, in: root)
        #expect(resumedProbe.status == 0, "\(resumedProbe.errors)")
        #expect(resumedProbe.output.contains("resuming phase 2"), "\(resumedProbe.output)")
        #expect(!FileManager.default.fileExists(atPath: probeCheckpoint.path), "the checkpoint is removed when phase 2 ends")
        try expectSameDatasets(root.appendingPathComponent("whole/probe.h5"), root.appendingPathComponent("killed/probe.h5"),
                               under: "/")

        // Phase 3: a crash when layer 2 starts, after layer 1's checkpoint is written (a fault the test injects
        // into the pipeline, run in this process with `analyze`'s default flags).
        let killed = analyzeInProcess(root.appendingPathComponent("killed"), faults: CrashAtAnalysisLayer(layer: 2))
        #expect(killed.status != 0)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("killed/analysis-checkpoint.h5").path))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("killed/analysis.h5").path))
        let analysing = try runFilterLens(["status", "killed"], in: root)
        #expect(analysing.output.contains("phase 2 probe   complete") && analysing.output.contains("phase 3 analyze in progress")
                && analysing.output.contains("1 of 2 layers done"), "\(analysing.output)\(analysing.errors)")
        let resumed = try runFilterLens(["analyze", "--resume", "killed"], in: root)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("analyze layer 1/2: taken from analysis-checkpoint.h5"), "\(resumed.output)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("killed").path)
            .filter { $0.contains(".tmp-") || $0.contains("checkpoint") && $0 != "checkpoint.h5" }
        #expect(leftovers.isEmpty, "\(leftovers)")
        for group in ["/layers", "/summary", "/sweep"] {
            try expectSameDatasets(root.appendingPathComponent("whole/analysis.h5"), root.appendingPathComponent("killed/analysis.h5"),
                                   under: group)
        }

        // `run --resume` on the finished run keeps every phase and rewrites only the report.
        let again = try runFilterLens(["run", "--resume", "--out", "killed", "--data", "data"] + probe, in: root)
        #expect(again.status == 0, "\(again.errors)")
        for phase in ["phase 1", "phase 2", "phase 3"] {
            #expect(again.output.contains("\(phase) of "), "\(phase) kept: \(again.output)")
        }
        #expect(again.output.contains("is complete; nothing to resume"), "\(again.output)")

        // Other analysis flags: `run --resume` analyses again with them, and keeps the result the next time.
        let rethreshold = try runFilterLens(["run", "--resume", "--out", "killed", "--data", "data", "--threshold", "0.5"] + probe,
                                            in: root)
        #expect(rethreshold.status == 0, "\(rethreshold.errors)")
        #expect(rethreshold.output.contains("departs from the flags given: threshold 0.30, not 0.50"), "\(rethreshold.output)")
        #expect(try H5File.open(root.appendingPathComponent("killed/analysis.h5").path).root.doubleAttribute("threshold") == 0.5)
        let kept = try runFilterLens(["run", "--resume", "--out", "killed", "--data", "data", "--threshold", "0.5"] + probe, in: root)
        #expect(kept.status == 0, "\(kept.errors)")
        #expect(kept.output.contains("killed is complete; nothing to resume"), "\(kept.output)")
    }
}

/// A crash when phase 3 reaches `layer` (after the checkpoint of the layers before it is written).
struct CrashAtAnalysisLayer: FaultInjection {
    struct Crash: Error {}
    let layer: Int
    func analysing(_ progress: AnalysisProgress) throws {
        if progress.layer == layer { throw Crash() }
    }
}

/// An observer that keeps nothing.
struct SilentObserver: PipelineObserver {
    func say(_ line: String) {}
    func batchProgress(_ progress: BatchProgress) {}
    func analysisProgress(_ progress: AnalysisProgress) {}
    func analysisFinished(_ results: [RunAnalysis.LayerResult], parameters: AnalysisParameters, seconds: Double, directory: URL) {}
}

/// Phase 3 of the run in `directory` in this process, with `analyze`'s default flags and the `faults` given; status 1
/// when it ends with an error, as the command would.
func analyzeInProcess(_ directory: URL, faults: any FaultInjection) -> CommandResult {
    let request = AnalysisRequest(directory: RunDirectory(directory), parameters: AnalysisParameters(threshold: 0.3, normalization: .max),
                                  sweepThresholds: [0.2, 0.3, 0.5, 0.7], resume: false)
    do {
        try Pipeline.analyze(request, PipelineContext(observer: SilentObserver(), faults: faults))
        return CommandResult(status: 0, output: "", errors: "")
    } catch {
        return CommandResult(status: 1, output: "", errors: "error: \(error)")
    }
}
