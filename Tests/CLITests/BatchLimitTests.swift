import Foundation
import Testing

/// A batch the data or the memory cannot hold is refused before anything is allocated: one line naming `--batch`
/// and the largest batch that fits, exit status 1, within seconds (it used to allocate until the kernel's OOM
/// killer ended it, or crash under `ulimit -v`).
@Suite("batch limits")
struct BatchLimitTests {
    /// `filterlens ARGUMENTS` under `ulimit -v KIB` in `directory`, through /bin/sh.
    func underAddressLimit(_ kibibytes: Int, _ arguments: [String], in directory: URL) throws -> CommandResult {
        let quoted = ([filterlensBinary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -v \(kibibytes) && exec \(quoted)"], in: directory)
    }

    @Test("a batch larger than the training set is refused naming --batch and the largest one, also under ulimit -v")
    func largerThanTrainingSet() throws {
        let root = try makeTinyDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        for limit in [nil, 8_000_000] {
            let arguments = ["train", "--preset", "tiny", "--data", "data", "--batch", "100000", "--out", "runs/big"]
            let started = Date()
            let result = try limit.map { try underAddressLimit($0, arguments, in: root) } ?? runFilterLens(arguments, in: root)
            #expect(result.status == 1, "\(result.errors)")
            #expect(result.errors == "error: --batch 100000: a batch of 100000 images is larger than the 500 training images; "
                    + "choose --batch 500 or less\n")
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("runs/big").path), "no run folder left")
        }
    }

    @Test("a batch whose buffers exceed the memory available is refused with the largest batch that fits")
    func largerThanMemory() throws {
        let root = try makeTinyDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        // VGG-16 at 500 images needs about 2.7 GB of buffers; 2 GB of address space cannot hold them.
        let result = try underAddressLimit(2_000_000, ["train", "--preset", "vgg16", "--data", "data", "--subset", "500",
                                                       "--batch", "500", "--out", "runs/big"], in: root)
        #expect(result.status == 1, "\(result.errors)")
        let line = result.errors
        #expect(line.hasPrefix("error: --batch 500: a batch of 500 images needs ") && line.contains(" GB of memory are available; choose --batch "),
                "\(line)")
        #expect(line.split(separator: "\n").count == 1, "one line")
        let largest = Int(line.split(separator: " ").reversed().dropFirst(2).first ?? "") ?? 0
        #expect(largest >= 1 && largest < 500, "the largest batch that fits: \(largest)")
    }
}
