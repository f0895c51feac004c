import Foundation
import Testing

@Suite("a full disk", .serialized)
struct FullDiskTests {
    /// Mounts a 2 MiB tmpfs (needs root; the test is skipped elsewhere) and returns it.
    static func smallDisk() -> URL? {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-full-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        mount.arguments = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint.path]
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil else { return nil }
        mount.waitUntilExit()
        return mount.terminationStatus == 0 ? mountPoint : nil
    }

    @Test("writing activations to a full disk ends with one line, exit 1, and intact files")
    func fullDisk() throws {
        guard let disk = Self.smallDisk() else {
            print("skipped: mounting a small tmpfs needs root")
            return
        }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            umount.arguments = ["umount", disk.path]
            try? umount.run()
            umount.waitUntilExit()
            try? FileManager.default.removeItem(at: disk)
        }
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
}
