import Foundation
import Testing

@Suite("a full disk", .serialized)
struct FullDiskTests {
    /// Mounts a tmpfs of `kilobytes` (needs root; the tests are skipped elsewhere) and returns it.
    static func smallDisk(kilobytes: Int = 2048) -> URL? {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-full-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        mount.arguments = ["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", mountPoint.path]
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil else { return nil }
        mount.waitUntilExit()
        return mount.terminationStatus == 0 ? mountPoint : nil
    }

    static func unmount(_ disk: URL) {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        umount.arguments = ["umount", disk.path]
        try? umount.run()
        umount.waitUntilExit()
        try? FileManager.default.removeItem(at: disk)
    }

    @Test("writing activations to a full disk ends with one line, exit 1, and intact files")
    func fullDisk() throws {
        guard let disk = Self.smallDisk() else {
            print("skipped: mounting a small tmpfs needs root")
            return
        }
        defer { Self.unmount(disk) }
        let root = try makeTinyDataset(trainPerFile: 40, test: 2000)
        defer { try? FileManager.default.removeItem(at: root) }
        let out = disk.appendingPathComponent("run")
        let result = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--subset", "200", "--test-subset", "2000",
                                        "--out", out.path], in: root)
        #expect(result.status == 1)
        let lines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1 && lines[0].contains("no space left on device"), "\(result.errors)")
        #expect(lines.first?.contains("activations.h5") == true)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(!names.contains { $0.contains(".tmp-") }, "no temporary left: \(names)")
        #expect(names.contains("checkpoint.h5") && names.contains("run.h5"), "what was written before stays: \(names)")
        #expect(!result.errors.contains("crashed"))
    }

    /// A tiny run through phase 3 in a new scratch folder: (the folder, the run directory in it).
    static func analysedRun() throws -> (root: URL, run: URL) {
        let root = try makeTinyDataset(trainPerFile: 40, test: 100)
        let training = ["train", "--preset", "tiny", "--data", "data", "--subset", "200", "--test-subset", "100", "--out", "run"]
        #expect(try runFilterLens(training, in: root).status == 0)
        #expect(try runFilterLens(["probe", "run", "--probe-epochs", "1"], in: root).status == 0)
        #expect(try runFilterLens(["analyze", "run"], in: root).status == 0)
        return (root, root.appendingPathComponent("run"))
    }

    /// Bytes of the files `names` in `directory`.
    static func size(of names: [String], in directory: URL) -> Int {
        names.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.size] as? Int) ?? 0)
        }
    }

    @Test("phase 3 on a full disk: one line naming the file, exit 1, no temporaries; the inputs stay")
    func fullDiskAnalysis() throws {
        let (root, run) = try Self.analysedRun()
        defer { try? FileManager.default.removeItem(at: root) }
        let inputs = ["run.h5", "probe.h5", "activations.h5", "checkpoint.h5"]
        guard let disk = Self.smallDisk(kilobytes: Self.size(of: inputs, in: run) / 1024 + 40) else {
            print("skipped: mounting a small tmpfs needs root")
            return
        }
        defer { Self.unmount(disk) }
        let copy = disk.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for name in inputs { try FileManager.default.copyItem(at: run.appendingPathComponent(name), to: copy.appendingPathComponent(name)) }
        let result = try runFilterLens(["analyze", copy.path], in: root)
        #expect(result.status == 1)
        let lines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1 && lines[0].contains("no space left on device") && lines[0].contains(copy.path), "\(result.errors)")
        let names = try FileManager.default.contentsOfDirectory(atPath: copy.path)
        #expect(!names.contains { $0.contains(".tmp-") }, "no temporary left: \(names)")
        #expect(Set(inputs).isSubset(of: names) && !names.contains("analysis.h5"), "\(names)")
    }

    @Test("figures written to a full disk: one line naming the figure and the full disk, exit 1, no temporaries")
    func fullDiskReport() throws {
        let (root, run) = try Self.analysedRun()
        defer { try? FileManager.default.removeItem(at: root) }
        let bytes = Self.size(of: try FileManager.default.contentsOfDirectory(atPath: run.path), in: run)
        // Room for the run's files and a few figures, not for all of them.
        guard let disk = Self.smallDisk(kilobytes: bytes / 1024 + 160) else {
            print("skipped: mounting a small tmpfs needs root")
            return
        }
        defer { Self.unmount(disk) }
        let copy = disk.appendingPathComponent("run")
        try FileManager.default.copyItem(at: run, to: copy)
        let result = try runFilterLens(["report", copy.path], in: root)
        #expect(result.status == 1)
        let lines = result.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1, "\(result.errors)")
        #expect(lines.first?.contains("cannot write figure '\(copy.path)/figures/") == true, "\(result.errors)")
        #expect(lines.first?.contains("is full") == true, "\(result.errors)")
        let figures = (try? FileManager.default.contentsOfDirectory(atPath: copy.appendingPathComponent("figures").path)) ?? []
        #expect(!figures.contains { $0.contains(".tmp-") }, "no temporary left: \(figures)")
        #expect(!FileManager.default.fileExists(atPath: copy.appendingPathComponent("report.html").path))
    }
}
