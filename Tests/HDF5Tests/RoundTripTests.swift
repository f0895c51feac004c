import Foundation
import HDF5
import Testing

extension HDF5Tests {
    @Suite("datasets, groups and attributes round trip")
    struct RoundTripTests {
        @Test("float, double and integer arrays read back equal, with their element types")
        func arraysRoundTrip() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("arrays.h5")
            let floats: [Float] = (0..<24).map { Float($0) * 0.25 - 3 }          // 2 x 3 x 4
            let doubles: [Double] = (0..<6).map { Double($0) / 3 }               // 6
            let ints32: [Int32] = [-2_000_000_000, -1, 0, 1, 7, 2_000_000_000]   // 3 x 2
            let ints64: [Int64] = [Int64.min, -5, 0, 5, Int64.max, 42]           // 2 x 3
            let bytes: [UInt8] = [0, 1, 128, 255]                               // 4
            do {
                let file = try H5File.create(path)
                let root = file.root
                try root.write("floats", floats, shape: [2, 3, 4])
                try root.write("doubles", doubles, shape: [6])
                try root.write("ints32", ints32, shape: [3, 2])
                try root.write("ints64", ints64, shape: [2, 3])
                try root.write("bytes", bytes, shape: [4])
                try file.flush()
            }
            let root = try H5File.open(path).root
            let floatSet = try root.openDataset("floats")
            #expect(floatSet.shape == [2, 3, 4])
            #expect(floatSet.elementType == .float32)
            #expect(floatSet.name == "/floats")
            #expect(try floatSet.read(as: Float.self) == floats)
            #expect(try floatSet.read(as: Double.self) == floats.map(Double.init))
            #expect(try root.openDataset("doubles").read(as: Double.self) == doubles)
            #expect(try root.openDataset("doubles").elementType == .float64)
            #expect(try root.openDataset("ints32").read(as: Int32.self) == ints32)
            #expect(try root.openDataset("ints32").elementType == .int32)
            #expect(try root.openDataset("ints64").read(as: Int64.self) == ints64)
            #expect(try root.openDataset("ints64").elementType == .int64)
            #expect(try root.openDataset("bytes").read(as: UInt8.self) == bytes)
            #expect(try root.openDataset("bytes").elementType == .uint8)
        }

        @Test("a block read matches the same elements of the whole array, also into caller memory")
        func hyperslabRead() throws {
            let directory = try TemporaryDirectory()
            let values: [Float] = (0..<60).map(Float.init)                      // 3 x 4 x 5
            let dataset = try H5File.create(directory.path("block.h5")).root.write("cube", values, shape: [3, 4, 5])
            let block = try dataset.read(start: [1, 2, 1], count: [2, 2, 3], as: Float.self)
            var expected: [Float] = []
            for i in 1..<3 { for j in 2..<4 { for k in 1..<4 { expected.append(values[(i * 4 + j) * 5 + k]) } } }
            #expect(block == expected)

            var buffer = [Double](repeating: -1, count: 12)
            try buffer.withUnsafeMutableBufferPointer { pointer in
                try dataset.read(start: [1, 2, 1], count: [2, 2, 3], into: pointer)
            }
            #expect(buffer == expected.map(Double.init))
        }

        @Test("a block write changes only that block")
        func hyperslabWrite() throws {
            let directory = try TemporaryDirectory()
            let dataset = try H5File.create(directory.path("patch.h5")).root
                .write("grid", [Int32](repeating: 0, count: 12), shape: [3, 4])
            let patch: [Int32] = [1, 2, 3, 4]
            try patch.withUnsafeBufferPointer { try dataset.write($0, start: [1, 1], count: [2, 2]) }
            #expect(try dataset.read(as: Int32.self) == [0, 0, 0, 0,
                                                         0, 1, 2, 0,
                                                         0, 3, 4, 0])
        }

        @Test("a scalar (0-dimensional) dataset holds one value")
        func scalarDataset() throws {
            let directory = try TemporaryDirectory()
            let dataset = try H5File.create(directory.path("scalar.h5")).root.write("answer", [42.5], shape: [])
            #expect(dataset.shape == [])
            #expect(try dataset.read(as: Double.self) == [42.5])
            #expect(try dataset.read(start: [], count: [], as: Double.self) == [42.5])
        }

        @Test("an unlimited dataset grows by three appends and reads back by block")
        func unlimitedAppends() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("log.h5")
            let width = 4
            let appends = [1, 2, 3]   // rows per append
            var all: [Float] = []
            do {
                let log = try H5File.create(path).root.createDataset("log", type: .float32, shape: [0, width],
                                                                    maxShape: [nil, width], chunk: [2, width])
                var rows = 0
                for count in appends {
                    let chunk: [Float] = (0..<(count * width)).map { Float(rows * width + $0) + 0.5 }
                    try log.extend(to: [rows + count, width])
                    try chunk.withUnsafeBufferPointer { try log.write($0, start: [rows, 0], count: [count, width]) }
                    rows += count
                    all += chunk
                }
            }
            let log = try H5File.open(path).root.openDataset("log")
            #expect(log.shape == [6, width])
            #expect(try log.read(as: Float.self) == all)
            #expect(try log.read(start: [3, 0], count: [3, width], as: Float.self) == Array(all[12..<24]))
            #expect(try log.read(start: [0, 2], count: [6, 1], as: Float.self) == (0..<6).map { all[$0 * width + 2] })
        }

        @Test("chunked, shuffled, gzip-compressed data reads back equal")
        func compressedRoundTrip() throws {
            let directory = try TemporaryDirectory()
            let values: [Float] = (0..<(64 * 64)).map { Float($0 % 17) }
            let path = directory.path("packed.h5")
            try H5File.create(path).root.write("packed", values, shape: [64, 64], chunk: [16, 16], compression: 6)
            #expect(try H5File.open(path).root.openDataset("packed").read(as: Float.self) == values)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(size < values.count * 4 / 2, "compressed file is \(size) bytes")
        }

        @Test("dimension labels read back, unlabelled dimensions as empty strings")
        func dimensionLabels() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("labels.h5")
            do {
                let root = try H5File.create(path).root
                try root.write("activations", [Float](repeating: 1, count: 24), shape: [2, 3, 4])
                    .setDimensionLabels(["image", "filter", "position"])
                try root.write("plain", [Float](repeating: 1, count: 6), shape: [2, 3])
            }
            let root = try H5File.open(path).root
            let activations = try root.openDataset("activations")
            #expect(try activations.dimensionLabels() == ["image", "filter", "position"])
            #expect(try activations.attributeNames() == [])
            #expect(try root.openDataset("plain").dimensionLabels() == ["", ""])
        }

        @Test("groups nest, list their members sorted, and lose removed members")
        func groups() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("groups.h5")
            let file = try H5File.create(path)
            let root = file.root
            #expect(root.name == "/")
            let layer = try root.createGroup("layers/conv1")        // creates "layers" too
            #expect(layer.name == "/layers/conv1")
            try layer.write("weights", [Float](repeating: 0, count: 4), shape: [4])
            try root.group("layers").write("bias", [Float](repeating: 0, count: 2), shape: [2])
            #expect(try root.group("layers").name == "/layers")
            #expect(try root.group("fresh").name == "/fresh")
            #expect(root.contains("layers/conv1/weights"))
            #expect(!root.contains("layers/conv2/weights"))
            #expect(!root.contains("nothing"))
            #expect(try root.memberNames() == ["fresh", "layers"])
            #expect(try root.openGroup("layers").memberNames() == ["bias", "conv1"])
            #expect(try root.openDataset("layers/conv1/weights").name == "/layers/conv1/weights")
            try root.remove("fresh")
            #expect(try root.memberNames() == ["layers"])
        }

        @Test("every attribute kind reads back, on groups and datasets, and setting replaces")
        func attributes() throws {
            let directory = try TemporaryDirectory()
            let path = directory.path("attributes.h5")
            let large = (0..<20_000).map { Double($0) * 0.5 }   // 160 kB: beyond the compact attribute limit
            do {
                let root = try H5File.create(path).root
                let dataset = try root.write("data", [Float](repeating: 0, count: 3), shape: [3])
                for holder in [root, dataset] as [any H5AttributeHolder] {
                    try holder.setAttribute("title", "Grüße, filters")
                    try holder.setAttribute("epochs", 12)
                    try holder.setAttribute("rate", 0.125)
                    try holder.setAttribute("losses", [2.5, 1.25, 0.75])
                    try holder.setAttribute("sizes", [32, 64, -1])
                    try holder.setAttribute("classes", ["cat", "dog", ""])
                    try holder.setAttribute("empty", [Double]())
                    try holder.setAttribute("epochs", 30)            // replaces 12
                }
                try root.setAttribute("large", large)
            }
            let root = try H5File.open(path).root
            let dataset = try root.openDataset("data")
            for holder in [root, dataset] as [any H5AttributeHolder] {
                #expect(try holder.stringAttribute("title") == "Grüße, filters")
                #expect(try holder.intAttribute("epochs") == 30)
                #expect(try holder.doubleAttribute("epochs") == 30)
                #expect(try holder.doubleAttribute("rate") == 0.125)
                #expect(try holder.doublesAttribute("losses") == [2.5, 1.25, 0.75])
                #expect(try holder.intsAttribute("sizes") == [32, 64, -1])
                #expect(try holder.doublesAttribute("sizes") == [32, 64, -1])
                #expect(try holder.stringsAttribute("classes") == ["cat", "dog", ""])
                #expect(try holder.doublesAttribute("empty") == [])
                #expect(holder.hasAttribute("rate"))
                #expect(!holder.hasAttribute("missing"))
            }
            #expect(try root.doublesAttribute("large") == large)
            #expect(try dataset.attributeNames() == ["classes", "empty", "epochs", "losses", "rate", "sizes", "title"])
        }

        @Test("the library reports its version")
        func libraryVersion() {
            let parts = HDF5Library.version.split(separator: ".")
            #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil }, "\(HDF5Library.version)")
        }
    }
}
