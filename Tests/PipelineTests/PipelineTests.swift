import Analysis
import Foundation
import Pipeline
import RunStore
import Testing
import Training

/// An epoch trainer of `batches` batches per epoch that counts what it trains.
final class CountingTrainer: EpochTraining {
    let batches: Int
    private(set) var completedEpochs = 0
    private(set) var cursor: EpochCursor?
    private(set) var batchesTrained = 0

    init(batches: Int) { self.batches = batches }

    func trainEpoch(progress: (BatchProgress) -> Void, afterBatch: (EpochCursor) throws -> BatchDecision) throws -> Int? {
        let start = cursor?.imagesDone ?? 0
        for batch in start..<batches {
            batchesTrained += 1
            if batch < batches - 1 {
                let position = EpochCursor(epoch: completedEpochs, imagesDone: batch + 1, lossSums: [0], correct: 0, seconds: 0)
                if try afterBatch(position) == .stop {
                    cursor = position
                    return nil
                }
            }
        }
        cursor = nil
        completedEpochs += 1
        return completedEpochs
    }
}

/// Stop requests that arrive after `after` polls.
final class StopAfter: StopRequests, @unchecked Sendable {
    private var polls = 0
    let after: Int
    init(after: Int) { self.after = after }
    func stoppingAfterBatch<T>(_ body: () throws -> T) rethrows -> T { try body() }
    var isStopRequested: Bool {
        polls += 1
        return polls > after
    }
    func resumeHint(phase: Phase, directory: URL) -> String { "resume \(phase.command)" }
}

struct Quiet: PipelineObserver {
    func say(_ line: String) {}
    func batchProgress(_ progress: BatchProgress) {}
    func analysisProgress(_ progress: AnalysisProgress) {}
    func analysisFinished(_ results: [RunAnalysis.LayerResult], parameters: AnalysisParameters, seconds: Double, directory: URL) {}
}

@Suite("pipeline rules")
struct PipelineTests {
    @Test("phase 1 invalidates phase 2's probe.h5 and checkpoint and phase 3's and prune's files; phase 2 only phase 3's and prune's")
    func invalidation() {
        #expect(Set(RunDirectory.derived(after: .train)) == [RunLayout.analysisFile, RunLayout.analysisCheckpointFile, "layers.csv",
                                                              RunLayout.pruneFile, RunLayout.pruneCheckpointFile, RunLayout.probeFile,
                                                              RunLayout.probeCheckpointFile])
        #expect(Set(RunDirectory.derived(after: .probe)) == [RunLayout.analysisFile, RunLayout.analysisCheckpointFile, "layers.csv",
                                                              RunLayout.pruneFile, RunLayout.pruneCheckpointFile])
        #expect(Phase.allCases.map(\.description) == ["phase 1", "phase 2", "phase 3"])
    }

    @Test("a new run refuses an existing run folder unless forced, which removes the phases' files")
    func prepareNew() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = RunDirectory(folder)
        try directory.prepareNew(force: false)
        try Data().write(to: directory.file(RunLayout.runFile))
        #expect(throws: PipelineError.self) { try directory.prepareNew(force: false) }
        try directory.prepareNew(force: true)
        #expect(!FileManager.default.fileExists(atPath: directory.file(RunLayout.runFile).path))
    }

    @Test("stale temporaries of the run and of its figures are removed, live ones and finished files kept")
    func staleTemporaries() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let figures = folder.appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: figures, withIntermediateDirectories: true)
        let stale = [folder.appendingPathComponent(".run.h5.tmp-999999999"), figures.appendingPathComponent(".sr.pdf.tmp-999999999")]
        let kept = [folder.appendingPathComponent(".run.h5.tmp-\(getpid())"), figures.appendingPathComponent("sr.pdf")]
        for url in stale + kept { try Data("x".utf8).write(to: url) }
        RunDirectory(folder).removeStaleTemporaries()
        #expect(stale.allSatisfy { !FileManager.default.fileExists(atPath: $0.path) })
        #expect(kept.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
    }

    @Test("the epoch loop saves after every epoch (the final one only where asked) and on a stop, then throws")
    func epochLoop() throws {
        for final in [true, false] {
            let trainer = CountingTrainer(batches: 4)
            var saves: [EpochCursor?] = []
            let loop = EpochLoop(trainer: trainer, epochs: 3, checkpointMinutes: 0, checkpointsFinalEpoch: final,
                                 save: { saves.append($0) }, stoppedInside: { _ in "inside" }, stoppedAfter: { "after \($0)" })
            var finished: [Int] = []
            try loop.run(PipelineContext(observer: Quiet())) { finished.append($0) }
            #expect(finished == [1, 2, 3])
            #expect(saves.count == (final ? 3 : 2) && saves.allSatisfy { $0 == nil })
        }
        let trainer = CountingTrainer(batches: 4)
        var saves: [EpochCursor?] = []
        let loop = EpochLoop(trainer: trainer, epochs: 3, checkpointMinutes: 0, checkpointsFinalEpoch: true,
                             save: { saves.append($0) }, stoppedInside: { "inside at \($0.imagesDone)" }, stoppedAfter: { "after \($0)" })
        // Polls: 3 batches and the end of epoch 1, then epoch 2's first batch; the 6th (epoch 2, batch 2) stops.
        let stopped = #expect(throws: StoppedAfterSaving.self) {
            try loop.run(PipelineContext(stops: StopAfter(after: 5), observer: Quiet())) { _ in }
        }
        #expect(stopped?.description == "inside at 2")
        #expect(saves.count == 2 && saves[0] == nil && saves[1]?.imagesDone == 2, "epoch 1's checkpoint, then the stop's")
        #expect(trainer.cursor?.imagesDone == 2 && trainer.completedEpochs == 1)
    }
}

@Suite("run lock")
struct RunLockTests {
    @Test("one writer at a time: a second is refused naming the first, status names it, the lock goes with its holder")
    func oneWriter() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = RunDirectory(folder)
        #expect(RunLock.holder(of: directory) == nil)
        try RunLock.holding(directory, command: "filterlens probe", creating: false) {
            #expect(!FileManager.default.fileExists(atPath: folder.path), "a missing folder is not created for a phase that reads it")
        }
        try RunLock.holding(directory, command: "filterlens run", creating: true) {
            let holder = try #require(RunLock.holder(of: directory))
            #expect(holder.hasPrefix("filterlens run (pid \(getpid())) since 20"), "\(holder)")
            let refused = #expect(throws: PipelineError.self) {
                try RunLock.holding(directory, command: "filterlens report", creating: false) {}
            }
            #expect(refused?.description.hasPrefix("\(folder.path): in use by filterlens run (pid \(getpid()))") == true,
                    "\(refused?.description ?? "")")
            let early = #expect(throws: PipelineError.self) { try RunStatus.read(directory) }
            #expect(early?.description.contains("filterlens run (pid \(getpid()))") == true
                    && early?.description.contains("has saved nothing yet") == true, "\(early?.description ?? "")")
        }
        #expect(RunLock.holder(of: directory) == nil, "released when its holder returns")
        try RunLock.holding(directory, command: "filterlens report", creating: false) {
            #expect(RunLock.holder(of: directory)?.hasPrefix("filterlens report") == true, "the next writer takes it")
        }
    }

    @Test("a folder the lock created goes again when its command fails before writing; any other folder stays")
    func failedStart() throws {
        struct Refused: Error {}
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = RunDirectory(folder)
        #expect(throws: Refused.self) { try RunLock.holding(directory, command: "filterlens run", creating: true) { throw Refused() } }
        #expect(!FileManager.default.fileExists(atPath: folder.path), "nothing written: no empty run folder left")
        #expect(throws: Refused.self) {
            try RunLock.holding(directory, command: "filterlens run", creating: true) {
                try Data("partial".utf8).write(to: folder.appendingPathComponent("train.log"))
                throw Refused()
            }
        }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("train.log").path), "what was written stays")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("train.log"))
        #expect(throws: Refused.self) { try RunLock.holding(directory, command: "filterlens run", creating: true) { throw Refused() } }
        #expect(FileManager.default.fileExists(atPath: folder.path), "a folder that was there before stays")
    }
}

@Suite("run status")
struct RunStatusTests {
    @Test("the SR curve's slope is the least-squares slope per epoch")
    func slope() {
        #expect(RunStatus.slope([0.80, 0.81, 0.82, 0.83, 0.84]).isApproximately(0.01))
        #expect(RunStatus.slope([0.85, 0.88, 0.85]).isApproximately(0), "a rise and an equal fall cancel")
        #expect(RunStatus.slope([0.9]) == 0 && RunStatus.slope([]) == 0)
        #expect(RunStatus.slope([0.50, 0.70, 0.72, 0.73]).isApproximately(0.071), "(-1.5 x -0.1625 + ...) / 5")
    }
}

private extension Double {
    func isApproximately(_ other: Double) -> Bool { abs(self - other) < 1e-12 }
}
