import CIFAR
import Foundation
import Testing
import TestSupport

/// The members of a CIFAR-10 binary archive with `perFile` records in each batch (labels cycle 0...9).
func cifar10Members(perFile: Int = 20) -> [TarMember] {
    let batch = CIFAR10.encode(syntheticImages(perFile))
    return [TarMember("cifar-10-batches-bin/", type: "5")]
        + (CIFAR10.Split.train.fileNames + CIFAR10.Split.test.fileNames).map { TarMember("cifar-10-batches-bin/\($0)", batch) }
        + [TarMember("cifar-10-batches-bin/batches.meta.txt", Data(CIFAR10.labelNames.joined(separator: "\n").utf8))]
}

@Suite("official archives: safe extraction with MD5", .serialized)
struct ArchiveTests {
    func write(_ members: [TarMember], to url: URL) throws {
        try gzipped(tarArchive(members)).write(to: url)
    }

    @Test("a CIFAR-10 archive unpacks into place with its MD5 in the note; an unofficial one warns")
    func unpack() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        let archive = root.appendingPathComponent("cifar-10-binary.tar.gz")
        try write(cifar10Members(), to: archive)
        var warnings: [String] = []
        let prepared = try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("data")) { warnings.append($0) }
        #expect(prepared.format == .cifar10)
        #expect(prepared.md5 == (try systemMD5(archive)))
        #expect(!prepared.isOfficial)
        #expect(warnings.count == 1 && warnings[0].contains("not the official c32a1d4ab5d03f1284b67883e8d87530"))
        let dataset = try Dataset.locate(root.appendingPathComponent("data").path)
        #expect(dataset.directory.lastPathComponent == "cifar-10-batches-bin")
        #expect(try dataset.load(.train).count == 100)
        #expect(dataset.sourceMD5 == prepared.md5)
        #expect(dataset.note?.archive == "cifar-10-binary.tar.gz")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("data").path)
        #expect(leftovers == ["cifar-10-batches-bin"], "no staging folder is left behind")
        // The checksum the caller insists on: a match is fine, a mismatch an error that leaves the data as it was.
        _ = try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("data"), expectedMD5: prepared.md5) { _ in }
        let mismatch = #expect(throws: CIFARError.self) {
            try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("data"),
                                           expectedMD5: String(repeating: "0", count: 32)) { _ in }
        }
        #expect(mismatch?.description.contains("differs from the expected") == true)
        let strict = #expect(throws: CIFARError.self) {
            try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("data"), strictOfficial: true) { _ in }
        }
        #expect(strict?.description.contains("differs from the official") == true)
        #expect(try Dataset.locate(root.appendingPathComponent("data").path).load(.test).count == 20)
    }

    @Test("members outside the data set are never written: traversal, absolute paths, links")
    func hostileMembers() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = root.appendingPathComponent("deep/data")
        let archive = root.appendingPathComponent("evil.tar.gz")
        let hostile = [
            TarMember("../../escaped.bin", Data("x".utf8)),
            TarMember("cifar-10-batches-bin/../../escaped2.bin", Data("x".utf8)),
            TarMember("/tmp/filterlens-absolute-\(UUID().uuidString)", Data("x".utf8)),
            TarMember("cifar-10-batches-bin/link", type: "2", link: "/etc/passwd"),
        ]
        try write(hostile + cifar10Members(), to: archive)
        var warnings: [String] = []
        let prepared = try ArchivePreparation.prepare(archive: archive, destination: destination) { warnings.append($0) }
        #expect(prepared.skippedMembers.count == 4)
        #expect(warnings.contains { $0.contains("passed over 4 member(s)") })
        for escaped in ["escaped.bin", "deep/escaped.bin", "escaped2.bin", "deep/escaped2.bin", "deep/data/link"] {
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(escaped).path), "\(escaped)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: prepared.directory.path).sorted()
        #expect(files == (["FILTERLENS-SOURCE.txt", "batches.meta.txt"] + CIFAR10.Split.train.fileNames + ["test_batch.bin"]).sorted())
        // An expected member that is a link, or a duplicate, is refused outright.
        try write(cifar10Members().dropLast(2) + [TarMember("cifar-10-batches-bin/test_batch.bin", type: "2", link: "/etc/passwd")], to: archive)
        let link = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("d2")) { _ in } }
        #expect(link?.description.contains("is a symbolic link, not a regular file") == true)
        try write(cifar10Members() + [cifar10Members()[1]], to: archive)
        let twice = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("d3")) { _ in } }
        #expect(twice?.description.contains("appears twice") == true)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("d2/cifar-10-batches-bin").path))
    }

    @Test("a refusal early in a large archive stops gzip at once (no waiting on a full pipe)")
    func earlyRefusal() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        var random = FuzzRandom(seed: 11)
        let noise = Data((0..<(8 << 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) })   // incompressible
        let archive = root.appendingPathComponent("big.tar.gz")
        try write([TarMember("cifar-10-batches-bin/test_batch.bin", type: "2", link: "x"), TarMember("noise.bin", noise)], to: archive)
        let started = Date()
        let error = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: root.appendingPathComponent("d")) { _ in } }
        #expect(error?.description.contains("symbolic link") == true)
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test("truncated, incomplete or foreign archives fail naming the file, and leave nothing in place")
    func damaged() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = root.appendingPathComponent("data")
        let whole = try gzipped(tarArchive(cifar10Members(perFile: 200)))
        let archive = root.appendingPathComponent("cut.tar.gz")
        try whole.prefix(whole.count / 2).write(to: archive)
        let cut = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: destination) { _ in } }
        #expect(cut?.path == archive.path)
        #expect(cut?.description.contains("truncated") == true, "\(cut?.description ?? "")")
        try write(Array(cifar10Members().dropLast(2)), to: archive)   // no test_batch.bin
        let missing = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: destination) { _ in } }
        #expect(missing?.description.contains("lacks cifar-10-batches-bin/test_batch.bin") == true)
        try gzipped(Data(repeating: 7, count: 5000)).write(to: archive)
        let foreign = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: destination) { _ in } }
        #expect(foreign?.description.contains("not a tar archive") == true)
        try Data("not gzip".utf8).write(to: archive)
        let notGzip = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: destination) { _ in } }
        #expect(notGzip?.description.contains("gzip") == true)
        var badLabel = cifar10Members()
        var batch = CIFAR10.encode(syntheticImages(20))
        batch[0] = 10
        badLabel[6] = TarMember("cifar-10-batches-bin/test_batch.bin", batch)
        try write(badLabel, to: archive)
        let invalid = #expect(throws: CIFARError.self) { try ArchivePreparation.prepare(archive: archive, destination: destination) { _ in } }
        #expect(invalid?.description.contains("label 10, outside 0...9") == true)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: destination.path)) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    @Test("a CIFAR-100 archive with long (ustar prefix) names unpacks both label sets")
    func cifar100Archive() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = try makeScratchDirectory(prefix: "filterlens-c100src")
        defer { try? FileManager.default.removeItem(at: source) }
        let folder = try writeCIFAR100(under: source, train: 50, test: 30)
        let members = try ["train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"].map {
            TarMember("./\(CIFAR100.folderName)/\($0)", try Data(contentsOf: folder.appendingPathComponent($0)))
        } + [TarMember(String(repeating: "x", count: 120) + "/" + String(repeating: "y", count: 60) + ".txt", Data("long".utf8))]
        let archive = root.appendingPathComponent("cifar-100-binary.tar.gz")
        try write(members, to: archive)
        let prepared = try ArchivePreparation.prepare(archive: archive, destination: root) { _ in }
        #expect(prepared.format == .cifar100)
        #expect(prepared.skippedMembers == [String(repeating: "x", count: 120) + "/" + String(repeating: "y", count: 60) + ".txt"])
        let coarse = try Dataset.locate(root.path, labelSet: .coarse)
        #expect(try coarse.load(.train).count == 50)
        #expect(coarse.sourceMD5 == (try systemMD5(archive)))
    }
}
