import Foundation
import HDF5
import Testing

extension HDF5Tests {
    @Suite("files read and written by h5dump and h5py")
    struct ExternalToolTests {
        /// Writes the shared sample file: /layers/weights (2 x 3 int32, labelled, with attributes),
        /// /layers/packed (chunked, shuffle + gzip 5 float32) and root string attributes.
        static func writeSample(_ path: String) throws {
            let root = try H5File.create(path).root
            try root.setAttribute("title", "FilterLens run")
            try root.setAttribute("classes", ["airplane", "automobile", "bird"])
            let layers = try root.createGroup("layers")
            let weights = try layers.write("weights", [Int32(10), 20, 30, 40, 50, 60], shape: [2, 3])
            try weights.setDimensionLabels(["filter", "input"])
            try weights.setAttribute("epochs", 7)
            try weights.setAttribute("rate", 0.25)
            try weights.setAttribute("losses", [1.5, 0.75])
            try layers.write("packed", (0..<256).map { Float($0) * 0.5 }, shape: [16, 16], chunk: [8, 8],
                             compression: 5)
        }

        @Test("h5dump shows the values, the string attribute and the shuffle + deflate filters")
        func h5dumpReads() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("sample.h5")
            try Self.writeSample(path)

            let values = try runTool("h5dump", ["-d", "/layers/weights", path])
            #expect(values.status == 0, "\(values.text)")
            #expect(values.text.contains("(0,0): 10, 20, 30,"), "\(values.text)")
            #expect(values.text.contains("(1,0): 40, 50, 60"), "\(values.text)")

            let title = try runTool("h5dump", ["-a", "/title", path])
            #expect(title.text.contains("\"FilterLens run\""), "\(title.text)")

            let filters = try runTool("h5dump", ["-p", "-H", "-d", "/layers/packed", path])
            #expect(filters.status == 0, "\(filters.text)")
            let shuffle = try #require(filters.text.range(of: "SHUFFLE"), "\(filters.text)")
            let deflate = try #require(filters.text.range(of: "DEFLATE"), "\(filters.text)")
            #expect(shuffle.lowerBound < deflate.lowerBound, "shuffle runs before deflate")
            #expect(filters.text.contains("LEVEL 5"), "\(filters.text)")
            #expect(filters.text.contains("CHUNKED ( 8, 8 )"), "\(filters.text)")
        }

        /// What the h5py script reports about the sample file.
        struct H5pyReport: Decodable {
            let weights: [Int]
            let shape: [Int]
            let labels: [String]
            let packed: [Double]
            let title: String
            let classes: [String]
            let epochs: Int
            let rate: Double
            let losses: [Double]
        }

        @Test("h5py reads the same numbers, string attributes and dimension labels",
              .enabled(if: pythonHasH5py, "h5py is not importable by python3"))
        func h5pyReads() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("sample.h5")
            try Self.writeSample(path)
            let script = """
                import h5py, json, sys
                text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
                with h5py.File(sys.argv[1], "r") as f:
                    w = f["layers/weights"]
                    print(json.dumps({
                        "weights": w[()].ravel().tolist(), "shape": list(w.shape),
                        "labels": [d.label for d in w.dims],
                        "packed": f["layers/packed"][()].ravel().tolist(),
                        "title": text(f.attrs["title"]), "classes": [text(c) for c in f.attrs["classes"]],
                        "epochs": int(w.attrs["epochs"]), "rate": float(w.attrs["rate"]),
                        "losses": w.attrs["losses"].tolist()}))
                """
            let output = try runTool("python3", ["-c", script, path])
            #expect(output.status == 0, "\(output.text)")
            let report = try JSONDecoder().decode(H5pyReport.self, from: Data(output.text.utf8))
            #expect(report.weights == [10, 20, 30, 40, 50, 60])
            #expect(report.shape == [2, 3])
            #expect(report.labels == ["filter", "input"])
            #expect(report.packed == (0..<256).map { Double($0) * 0.5 })
            #expect(report.title == "FilterLens run")
            #expect(report.classes == ["airplane", "automobile", "bird"])
            #expect(report.epochs == 7)
            #expect(report.rate == 0.25)
            #expect(report.losses == [1.5, 0.75])
        }

        @Test("a file written by h5py reads back: fixed-length strings, labels, foreign types",
              .enabled(if: pythonHasH5py, "h5py is not importable by python3"))
        func readsH5pyFile() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("from-h5py.h5")
            let script = """
                import h5py, numpy as np, sys
                with h5py.File(sys.argv[1], "w") as f:
                    d = f.create_dataset("grid", data=np.arange(12, dtype="<f4").reshape(3, 4))
                    d.dims[0].label = "row"
                    d.dims[1].label = "column"
                    f.create_dataset("shorts", data=np.array([1, -2, 3], dtype="<i2"))
                    f.create_dataset("names", data=np.array([b"a", b"bc"], dtype="S2"))
                    f.attrs["fixed"] = np.bytes_(b"hello")
                    f.attrs.create("padded", np.array([b"ab", b"cde"], dtype="S4"))
                    f.attrs["vlen"] = "unicode \\u00e9"
                    f.attrs["small"] = np.int16(-3)
                    f.attrs["floats"] = np.array([0.5, 1.5], dtype="<f4")
                """
            let output = try runTool("python3", ["-c", script, path])
            try #require(output.status == 0, "\(output.text)")
            #expect(H5File.isHDF5(path))
            let root = try H5File.open(path).root
            let grid = try root.openDataset("grid")
            #expect(grid.shape == [3, 4])
            #expect(try grid.read(as: Float.self) == (0..<12).map(Float.init))
            #expect(try grid.dimensionLabels() == ["row", "column"])
            #expect(try root.openDataset("shorts").elementType == nil)
            #expect(try root.openDataset("shorts").read(as: Int32.self) == [1, -2, 3])
            #expect(try root.openDataset("names").elementType == nil)
            #expect(try root.stringAttribute("fixed") == "hello")
            #expect(try root.stringsAttribute("padded") == ["ab", "cde"])
            #expect(try root.stringAttribute("vlen") == "unicode é")
            #expect(try root.intAttribute("small") == -3)
            #expect(try root.doublesAttribute("floats") == [0.5, 1.5])
            #expect(try root.attributeNames() == ["fixed", "floats", "padded", "small", "vlen"])
        }
    }
}
