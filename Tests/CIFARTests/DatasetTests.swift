import CIFAR
import Foundation
import Testing
import TestSupport

/// `count` CIFAR-100 records: fine label `index % 100` (or `fine(index)`), coarse label fine / 5, pixels that encode
/// the index.
func cifar100Records(_ count: Int, fine: (Int) -> Int = { $0 % 100 }) -> (data: Data, fine: [UInt8], pixels: [UInt8]) {
    let size = LabeledImages.pixelsPerImage
    var pixels = [UInt8](repeating: 0, count: count * size)
    for index in pixels.indices { pixels[index] = UInt8((index / size * 31 + index % 13) % 256) }
    let fineLabels = (0..<count).map { UInt8(fine($0)) }
    return (CIFAR100.encode(pixels: pixels, fine: fineLabels, coarse: fineLabels.map { $0 / 5 }), fineLabels, pixels)
}

/// Writes a CIFAR-100 folder in the official layout (train.bin, test.bin and both name files) under `root`.
@discardableResult
func writeCIFAR100(under root: URL, train: Int = 300, test: Int = 200) throws -> URL {
    let folder = root.appendingPathComponent(CIFAR100.folderName)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try cifar100Records(train).data.write(to: folder.appendingPathComponent("train.bin"))
    try cifar100Records(test).data.write(to: folder.appendingPathComponent("test.bin"))
    try ((0..<100).map { "fine-\($0)" }.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("fine_label_names.txt"), atomically: true, encoding: .utf8)
    try ((0..<20).map { "coarse-\($0)" }.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("coarse_label_names.txt"), atomically: true, encoding: .utf8)
    return folder
}

@Suite("CIFAR-100 reader and the dataset seam")
struct DatasetTests {
    @Test("CIFAR-100 files in the official layout read with fine and coarse labels")
    func cifar100() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-c100")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeCIFAR100(under: root)
        let fine = try Dataset.locate(root.path)
        #expect(fine.format == .cifar100 && fine.labelSet == .fine)
        #expect(fine.labelCount == 100 && fine.labelNames[42] == "fine-42")
        let train = try fine.load(.train)
        #expect(train.count == 300)
        #expect(train.labels == cifar100Records(300).fine)
        #expect(train.pixels == cifar100Records(300).pixels)
        let coarse = try Dataset.locate(root.path, labelSet: .coarse)
        #expect(coarse.labelCount == 20 && coarse.labelNames[3] == "coarse-3")
        #expect(try coarse.load(.test).labels == cifar100Records(200).fine.map { $0 / 5 })
        #expect(coarse.name == "CIFAR-100, 20 coarse labels")
        #expect(fine.fileNames(.train) == ["train.bin"])
    }

    @Test("a bad fine label, a truncated file and a wrong name file are one-line errors naming the file")
    func cifar100Errors() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-c100")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = try writeCIFAR100(under: root)
        var bytes = cifar100Records(10).data
        bytes[4 * CIFAR100.recordSize + 1] = 100
        try bytes.write(to: folder.appendingPathComponent("test.bin"))
        let dataset = try Dataset.locate(root.path)
        let error = #expect(throws: CIFARError.self) { try dataset.load(.test) }
        #expect(error?.offset == 4 * CIFAR100.recordSize + 1)
        #expect(error?.description.contains("fine label 100, outside 0...99") == true)
        #expect(error?.description.contains("test.bin") == true)
        try cifar100Records(3).data.prefix(2 * CIFAR100.recordSize + 7).write(to: folder.appendingPathComponent("test.bin"))
        let truncated = #expect(throws: CIFARError.self) { try dataset.load(.test) }
        #expect(truncated?.description.contains("not a multiple of 3074") == true)
        try "a\nb\n".write(to: folder.appendingPathComponent("coarse_label_names.txt"), atomically: true, encoding: .utf8)
        let names = #expect(throws: CIFARError.self) { try Dataset.locate(root.path, labelSet: .coarse) }
        #expect(names?.description.contains("2 label names, expected 20") == true)
        // --label-set on a CIFAR-10 folder.
        let ten = root.appendingPathComponent("ten")
        try FileManager.default.createDirectory(at: ten, withIntermediateDirectories: true)
        try CIFAR10.encode(syntheticImages(2)).write(to: ten.appendingPathComponent("test_batch.bin"))
        let misuse = #expect(throws: CIFARError.self) { try Dataset.locate(ten.path, labelSet: .fine) }
        #expect(misuse?.description.contains("--label-set applies to CIFAR-100") == true)
    }

    @Test("--labels parses a count or a list and refuses what does not fit")
    func labelSelection() throws {
        #expect(try LabelSelection.parse("3", labelCount: 10).indices == [0, 1, 2])
        #expect(try LabelSelection.parse("0,3,5", labelCount: 10).indices == [0, 3, 5])
        #expect(try LabelSelection.parse("7, 2", labelCount: 10).indices == [7, 2])
        #expect(try LabelSelection.parse("100", labelCount: 100).isAll(of: 100))
        for bad in ["1", "11", "0,0", "a", "-1,2", "3,10", "", "2,,3"] {
            #expect(throws: LabelSelectionError.self, "\(bad)") { try LabelSelection.parse(bad, labelCount: 10) }
        }
        #expect(LabelSelection(indices: [4, 1]).names(from: CIFAR10.labelNames) == ["deer", "automobile"])
    }

    @Test("a label selection keeps only its labels, relabelled in its order, and the limit counts kept images")
    func selectedLoad() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-sel")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent(CIFAR10.folderName)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let images = syntheticImages(40)   // labels cycle 0...9
        for name in CIFAR10.Split.train.fileNames + CIFAR10.Split.test.fileNames {
            try CIFAR10.encode(images).write(to: folder.appendingPathComponent(name))
        }
        let dataset = try Dataset.locate(root.path)
        #expect(dataset.format == .cifar10 && dataset.labelCount == 10)
        let selection = LabelSelection(indices: [5, 2])
        let test = try dataset.load(.test, labels: selection)
        #expect(test.count == 8)
        #expect(test.labels == [1, 0, 1, 0, 1, 0, 1, 0], "label 2 comes first in the data, and is the run's label 1")
        let firstKept = 2 * LabeledImages.pixelsPerImage   // the third image (label 2)
        #expect(Array(test.pixels.prefix(LabeledImages.pixelsPerImage)) == Array(images.pixels[firstKept..<(firstKept + LabeledImages.pixelsPerImage)]))
        let train = try dataset.load(.train, limit: 13, labels: selection)
        #expect(train.count == 13, "the limit spans files and counts only kept images")
        #expect(Set(train.labels) == [0, 1])
    }

    @Test("MD5 matches RFC 1321's test suite, in one piece or many, and md5sum on a file")
    func md5() throws {
        let vectors = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"), ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"), ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (text, digest) in vectors { #expect(MD5.hex(Data(text.utf8)) == digest, "\(text)") }
        var random = FuzzRandom(seed: 5)
        let bytes = Data((0..<100_003).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        var pieces = MD5()
        var offset = 0
        for size in [0, 1, 63, 64, 65, 1000, 4096] + Array(repeating: 30_000, count: 4) {
            let end = min(bytes.count, offset + size)
            pieces.update(bytes[offset..<end])
            offset = end
        }
        pieces.update(bytes[offset...])
        let whole = MD5.hex(bytes)
        #expect(pieces.finalize() == whole)
        let root = try makeScratchDirectory(prefix: "filterlens-md5")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("bytes")
        try bytes.write(to: file)
        #expect(try MD5.hex(file: file) == whole)
        #expect(try systemMD5(file) == whole)
    }

    @Test("the data note keeps name, MD5 and archive; a one-line note of older versions still reads")
    func note() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-note")
        defer { try? FileManager.default.removeItem(at: root) }
        let note = DataNote(name: "CIFAR-10 (official binary archive)", md5: OfficialArchive.cifar10.md5, archive: "cifar-10-binary.tar.gz")
        try Data(note.text.utf8).write(to: root.appendingPathComponent(DataNote.fileName))
        #expect(DataNote.read(directory: root) == note)
        try Data("CIFAR-10 (JPEG copy)\n".utf8).write(to: root.appendingPathComponent(DataNote.fileName))
        #expect(DataNote.read(directory: root) == DataNote(name: "CIFAR-10 (JPEG copy)"))
        #expect(CIFAR10.datasetName(directory: root) == "CIFAR-10 (JPEG copy)")
    }
}
