import Foundation
import HDF5
import RunStore
import Testing

@Suite("fields.h5")
struct FieldSumsFileTests {
    @Test("sums, counts and block shapes round trip")
    func roundTrip() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(RunLayout.fieldsFile)
        let writer = try FieldSumsWriter(creating: url, imagesPerLabel: [3, 0, 5])
        let first = (0..<(3 * 2 * 3)).map { Double($0) * 0.5 }       // 3 labels x 2 filters x 3 labels
        let second = (0..<(3 * 4 * 3)).map { -Double($0) }            // 3 labels x 4 filters x 3 labels
        try writer.writeLayer(1, sums: first, shape: BlockShape(channels: 2, height: 4, width: 4), module: "features.3")
        try writer.writeLayer(2, sums: second, shape: BlockShape(channels: 4, height: 2, width: 2))
        #expect(!FileManager.default.fileExists(atPath: url.path), "nothing at the final name before commit")
        try writer.commit()

        let reader = try FieldSumsReader(url)
        #expect(reader.imagesPerLabel == [3, 0, 5])
        #expect(reader.imageCount == 8)
        #expect(reader.layers == [1, 2])
        #expect(try reader.shape(layer: 1) == BlockShape(channels: 2, height: 4, width: 4))
        #expect(try reader.shape(layer: 2) == BlockShape(channels: 4, height: 2, width: 2))
        #expect(try reader.sums(layer: 1) == first)
        #expect(try reader.sums(layer: 2) == second)

        let file = try H5File.open(url.path)
        #expect(try file.root.stringAttribute("format") == "filterlens-fields")
        #expect(try file.root.intAttribute("format_version") == RunLayout.fieldsVersion)
        #expect(try file.root.intAttribute("layer_count") == 2)
        #expect(try file.root.openDataset("layer01").dimensionLabels() == ["input_label", "filter", "output_label"])
    }

    /// Writes a fields.h5 by hand, as another tool would, with one thing wrong.
    private func handWritten(_ folder: URL, format: String = "filterlens-fields", version: Int = 1,
                             counts: [Int64] = [2, 2], sumsShape: [Int] = [2, 3, 2], channels: Int = 3) throws -> URL {
        let url = folder.appendingPathComponent("fields-\(UUID().uuidString).h5")
        let file = try H5File.create(url.path)
        try file.root.setAttribute("format", format)
        try file.root.setAttribute("format_version", version)
        try file.root.write("images_per_label", counts, shape: [counts.count])
        let sums = try file.root.write("layer01", [Double](repeating: 1, count: sumsShape.reduce(1, *)), shape: sumsShape)
        try sums.setAttribute("channels", channels)
        try sums.setAttribute("height", 2)
        try sums.setAttribute("width", 2)
        return url
    }

    @Test("a foreign, newer or inconsistent file is refused, naming the file, the object and the fix")
    func refusesBadFiles() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try handWritten(folder)
        #expect(try FieldSumsReader(good).sums(layer: 1).count == 12)

        let activations = try handWritten(folder, format: "filterlens-activations")
        let foreign = #expect(throws: RunStoreError.self) { try FieldSumsReader(activations) }
        #expect(foreign?.description.contains("expected \"filterlens-fields\"") == true)
        #expect(foreign?.description.contains(activations.path) == true)

        let newer = #expect(throws: RunStoreError.self) { try FieldSumsReader(try handWritten(folder, version: 2)) }
        #expect(newer?.description.contains("layout version 2") == true)
        #expect(newer?.description.contains("update FilterLens") == true)

        let negative = #expect(throws: RunStoreError.self) { try FieldSumsReader(try handWritten(folder, counts: [2, -1])) }
        #expect(negative?.description.contains("[/images_per_label]: negative count -1") == true)

        let empty = #expect(throws: RunStoreError.self) { try FieldSumsReader(try handWritten(folder, counts: [0, 0])) }
        #expect(empty?.description.contains("no images") == true)

        let misshaped = try FieldSumsReader(try handWritten(folder, sumsShape: [2, 3, 3]))
        let shape = #expect(throws: RunStoreError.self) { try misshaped.sums(layer: 1) }
        #expect(shape?.description.contains("[/layer01]: shape 2 x 3 x 3, expected 2 x * x 2") == true)

        let wrongChannels = try FieldSumsReader(try handWritten(folder, channels: 5))
        let channels = #expect(throws: RunStoreError.self) { try wrongChannels.shape(layer: 1) }
        #expect(channels?.description.contains("@channels is 5 but the sums hold 3 filters") == true)

        let missing = #expect(throws: RunStoreError.self) { try FieldSumsReader(folder.appendingPathComponent("none.h5")) }
        #expect(missing?.description.contains("file not found") == true)
    }
}
