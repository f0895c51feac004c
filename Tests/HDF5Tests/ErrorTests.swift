import Foundation
import HDF5
import Testing

extension HDF5Tests {
    @Suite("errors name the file and object and carry HDF5's message")
    struct ErrorTests {
        /// Checks the error's one-line description names `path` and the message is non-empty.
        func expectDescribed(_ error: HDF5Error?, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let error else { return }
            #expect(error.description.contains(path), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty && !error.description.contains("\n"), "\(error)", sourceLocation: sourceLocation)
        }

        @Test("opening a missing file")
        func missingFile() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("missing.h5")
            let error = #expect(throws: HDF5Error.self) { try H5File.open(path) }
            expectDescribed(error, naming: path)
            #expect(error?.operation == "open file")
            #expect(error?.message.contains("unable to open file") == true, "\(String(describing: error))")
            #expect(!H5File.isHDF5(path))
        }

        @Test("opening a text file")
        func foreignFile() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("notes.h5")
            try "This is plain text, not HDF5.\n".write(toFile: path, atomically: true, encoding: .utf8)
            expectDescribed(#expect(throws: HDF5Error.self) { try H5File.open(path) }, naming: path)
            #expect(!H5File.isHDF5(path))
        }

        @Test("opening a truncated HDF5 file")
        func truncatedFile() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("truncated.h5")
            try H5File.create(path).root.write("values", (0..<10_000).map(Double.init), shape: [10_000])
            #expect(H5File.isHDF5(path))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
            expectDescribed(#expect(throws: HDF5Error.self) { try H5File.open(path) }, naming: path)
        }

        @Test("opening a missing dataset or group names it")
        func missingObjects() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("objects.h5")
            let layers = try H5File.create(path).root.createGroup("layers")
            let error = #expect(throws: HDF5Error.self) { try layers.openDataset("conv9") }
            expectDescribed(error, naming: path + "/layers/conv9")
            #expect(error?.operation == "open dataset")
            expectDescribed(#expect(throws: HDF5Error.self) { try layers.openGroup("nowhere") },
                            naming: path + "/layers/nowhere")
        }

        @Test("reading a missing or mistyped attribute names the attribute and object")
        func attributeErrors() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("attributes.h5")
            let dataset = try H5File.create(path).root.write("data", [Float(1)], shape: [1])
            try dataset.setAttribute("title", "text")
            try dataset.setAttribute("losses", [1.0, 2.0])
            for (error, name) in [
                (#expect(throws: HDF5Error.self) { try dataset.doubleAttribute("absent") }, "absent"),
                (#expect(throws: HDF5Error.self) { try dataset.intAttribute("title") }, "title"),
                (#expect(throws: HDF5Error.self) { try dataset.stringAttribute("losses") }, "losses"),
                (#expect(throws: HDF5Error.self) { try dataset.doubleAttribute("losses") }, "losses"),
            ] {
                expectDescribed(error, naming: path + "/data")
                #expect(error?.operation.contains("\"\(name)\"") == true, "\(String(describing: error))")
            }
        }

        @Test("shape mistakes are rejected before reaching HDF5")
        func shapeErrors() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("shapes.h5")
            let root = try H5File.create(path).root
            expectDescribed(#expect(throws: HDF5Error.self) { try root.write("short", [Float(1), 2], shape: [3]) },
                            naming: path + "/short")
            expectDescribed(#expect(throws: HDF5Error.self) {
                try root.createDataset("growing", type: .float32, shape: [0], maxShape: [nil])
            }, naming: path + "/growing")
            expectDescribed(#expect(throws: HDF5Error.self) {
                try root.createDataset("squeezed", type: .float32, shape: [4], compression: 4)
            }, naming: path + "/squeezed")
            let dataset = try root.write("grid", [Float](repeating: 0, count: 6), shape: [2, 3])
            expectDescribed(#expect(throws: HDF5Error.self) {
                try dataset.read(start: [1, 1], count: [2, 2], as: Float.self)
            }, naming: path + "/grid")
            expectDescribed(#expect(throws: HDF5Error.self) {
                try dataset.read(start: [0, 0], count: [-1, 2], as: Float.self)
            }, naming: path + "/grid")
            expectDescribed(#expect(throws: HDF5Error.self) { try dataset.write([Float(1)]) }, naming: path + "/grid")
            expectDescribed(#expect(throws: HDF5Error.self) { try dataset.extend(to: [4, 3]) }, naming: path + "/grid")
            expectDescribed(#expect(throws: HDF5Error.self) { try dataset.setDimensionLabels(["only one"]) },
                            naming: path + "/grid")
        }

        @Test("a read-only file refuses writes")
        func readOnly() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("frozen.h5")
            _ = try H5File.create(path)
            let root = try H5File.open(path).root
            expectDescribed(#expect(throws: HDF5Error.self) { try root.createGroup("new") }, naming: path + "/new")
            expectDescribed(#expect(throws: HDF5Error.self) { try root.setAttribute("a", 1) }, naming: path)
        }
    }
}
