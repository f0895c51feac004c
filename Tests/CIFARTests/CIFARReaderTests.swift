import CIFAR
import Foundation
import Testing

/// A folder under the temporary directory, removed by the caller.
func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("filterlens-cifar-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `count` images whose pixels encode their index and whose labels cycle 0...9.
func syntheticImages(_ count: Int) -> LabeledImages {
    var pixels = [UInt8](repeating: 0, count: count * CIFAR10.pixelsPerImage)
    for index in pixels.indices { pixels[index] = UInt8((index * 7 + index / CIFAR10.pixelsPerImage) % 256) }
    return LabeledImages(pixels: pixels, labels: (0..<count).map { UInt8($0 % 10) })
}

@Suite("CIFAR-10 binary reader")
struct CIFARReaderTests {
    @Test("a written file reads back exactly")
    func roundTrip() throws {
        let folder = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = syntheticImages(23)
        let file = folder.appendingPathComponent("test_batch.bin")
        try CIFAR10.encode(images).write(to: file)
        let read = try CIFAR10.read(file: file)
        #expect(read.count == 23)
        #expect(read.labels == images.labels)
        #expect(read.pixels == images.pixels)
        #expect(try CIFAR10.read(file: file, limit: 5).labels == Array(images.labels.prefix(5)))
    }

    @Test("a split loads from the folder or its parent, with a limit across files")
    func loadsSplit() throws {
        let root = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent(CIFAR10.folderName)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in CIFAR10.Split.train.fileNames + CIFAR10.Split.test.fileNames {
            try CIFAR10.encode(syntheticImages(4)).write(to: folder.appendingPathComponent(name))
        }
        let directory = try CIFAR10.batchDirectory(root.path)
        #expect(directory.standardizedFileURL.path == folder.standardizedFileURL.path)
        #expect(try CIFAR10.load(.train, from: directory).count == 20)
        #expect(try CIFAR10.load(.train, from: directory, limit: 10).count == 10)
        #expect(CIFAR10.datasetName(directory: directory) == "CIFAR-10")
    }

    @Test("a truncated file names the file and the offset")
    func truncated() throws {
        let folder = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("data_batch_1.bin")
        try CIFAR10.encode(syntheticImages(3)).prefix(2 * CIFAR10.recordSize + 100).write(to: file)
        let error = #expect(throws: CIFARError.self) { try CIFAR10.read(file: file) }
        #expect(error?.offset == 2 * CIFAR10.recordSize)
        #expect(error?.description.contains(file.path) == true)
        #expect(error?.description.contains("not a multiple of 3073") == true)
    }

    @Test("a label outside 0...9 names its record")
    func badLabel() throws {
        var bytes = CIFAR10.encode(syntheticImages(5))
        bytes[3 * CIFAR10.recordSize] = 42
        let error = #expect(throws: CIFARError.self) { try CIFAR10.decode(bytes, path: "bad.bin") }
        #expect(error?.offset == 3 * CIFAR10.recordSize)
        #expect(error?.description.contains("label 42") == true)
    }

    @Test("a missing folder and a missing file say what to do")
    func missing() throws {
        let error = #expect(throws: CIFARError.self) { try CIFAR10.batchDirectory("/nonexistent/cifar") }
        #expect(error?.description.contains("data prepare") == true)
        let fileError = #expect(throws: CIFARError.self) { try CIFAR10.read(file: URL(fileURLWithPath: "/nonexistent/x.bin")) }
        #expect(fileError?.description.contains("file not found") == true)
        #expect(throws: CIFARError.self) { try CIFAR10.decode(Data(), path: "empty.bin") }
    }

    @Test("summary counts labels and channel statistics")
    func summary() {
        var pixels = [UInt8](repeating: 0, count: 2 * CIFAR10.pixelsPerImage)
        for index in 0..<1024 { pixels[index] = 255 }            // image 0: red plane full
        let summary = DatasetSummary(LabeledImages(pixels: pixels, labels: [3, 3]))
        #expect(summary.countsPerLabel[3] == 2)
        #expect(summary.countsPerLabel.reduce(0, +) == 2)
        #expect(abs(summary.channelMeans[0] - 127.5) < 1e-9)
        #expect(abs(summary.channelStandardDeviations[0] - 127.5) < 1e-9)
        #expect(summary.channelMeans[1] == 0)
    }
}

@Suite("CIFAR-10 JPEG copy")
struct JPEGCopyTests {
    @Test("a missing build script is one clear error")
    func missingScript() throws {
        let error = #expect(throws: CIFARError.self) {
            try JPEGCopy.prepare(source: URL(fileURLWithPath: "/nonexistent"), destination: URL(fileURLWithPath: "/tmp"))
        }
        #expect(error?.description.contains("build-cifar10-bin") == true)
    }
}
