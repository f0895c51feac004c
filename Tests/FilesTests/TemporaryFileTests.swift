import Files
import Foundation
import Testing

@Suite("temporary files")
struct TemporaryFileTests {
    @Test("one name scheme: .<name>.tmp-<pid> beside the destination, read back to its writer and destination")
    func names() {
        let destination = URL(fileURLWithPath: "/runs/a/figures/sr.pdf")
        let temporary = TemporaryFile.url(for: destination)
        #expect(temporary.deletingLastPathComponent() == destination.deletingLastPathComponent())
        #expect(temporary.lastPathComponent == ".sr.pdf.tmp-\(getpid())")
        #expect(TemporaryFile.writer(ofName: temporary.lastPathComponent) == getpid())
        #expect(TemporaryFile.writer(ofName: "sr.pdf") == nil)
        #expect(TemporaryFile.writer(ofName: ".sr.pdf.tmp-abc") == nil)
        #expect(TemporaryFile.destinationPath(temporary.path) == destination.path)
        #expect(TemporaryFile.destinationPath("/runs/a/run.h5") == "/runs/a/run.h5")
    }

    @Test("removeStale deletes the temporaries of processes that no longer run, and nothing else")
    func removeStale() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let live = TemporaryFile.url(for: folder.appendingPathComponent("run.h5"))
        let dead = folder.appendingPathComponent(".analysis.h5.tmp-999999999")
        let kept = folder.appendingPathComponent("layers.csv")
        for url in [live, dead, kept] { try Data("x".utf8).write(to: url) }
        TemporaryFile.removeStale(in: folder)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(names == [live.lastPathComponent, kept.lastPathComponent])
    }
}
