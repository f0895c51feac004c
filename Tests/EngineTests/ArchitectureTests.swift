import Engine
import Testing

@Suite("Architecture notation and shapes")
struct ArchitectureTests {
    @Test("parses convolutions, M and M<size>")
    func parsesNotation() throws {
        let architecture = try Architecture(notation: "64 64 M 128, M4", imageSize: 32)
        #expect(architecture.layers == [.convolution(filters: 64), .convolution(filters: 64), .maxPool(size: 2),
                                        .convolution(filters: 128), .maxPool(size: 4)])
        #expect(architecture.convolutionCount == 3)
        #expect(architecture.flattenedSize == 128 * 4 * 4)
    }

    @Test("points at the bad token")
    func pointsAtBadToken() {
        #expect {
            try Architecture(notation: "64 64 6x4")
        } throws: { error in
            guard let error = error as? ArchitectureError else { return false }
            return error.tokenIndex == 3 && error.token == "6x4"
                && error.description.hasPrefix("bad token \"6x4\" (token 3) in \"64 64 6x4\"")
        }
    }

    @Test("rejects invalid stacks", arguments: [
        ("M 64", 1), ("64 M M", 3), ("64 0", 2), ("64 M1", 2), ("8 M 8 M 8 M 8 M 8 M 8 M", 12), ("", 0), ("64 M3", 2),
    ])
    func rejects(notation: String, tokenIndex: Int) {
        #expect {
            try Architecture(notation: notation)
        } throws: { error in (error as? ArchitectureError)?.tokenIndex == tokenIndex }
    }

    @Test("rejects a bad head and label count")
    func rejectsHead() {
        #expect(throws: ArchitectureError.self) { try Architecture(notation: "8 M", hiddenWidths: [0]) }
        #expect(throws: ArchitectureError.self) { try Architecture(notation: "8 M", labelCount: 1) }
        #expect(throws: ArchitectureError.self) { try Architecture.preset("vgg99") }
    }

    @Test("VGG-16 block outputs")
    func vgg16Shapes() throws {
        let vgg16 = try Architecture.preset("vgg16")
        #expect(vgg16.convolutionCount == 13)
        let expected = [(64, 32), (64, 16), (128, 16), (128, 8), (256, 8), (256, 8), (256, 4),
                        (512, 4), (512, 4), (512, 2), (512, 2), (512, 2), (512, 1)]
        for (l, (c, side)) in expected.enumerated() {
            let shape = vgg16.blockOutputShape(layer: l + 1)
            #expect(shape.channels == c && shape.height == side && shape.width == side, "layer \(l + 1)")
        }
        #expect(vgg16.flattenedSize == 512)
    }

    @Test("VGG-6 and AVGG-16 block outputs")
    func vgg6AndAvgg16Shapes() throws {
        let vgg6 = try Architecture.preset("vgg6")
        #expect(vgg6.convolutionCount == 6)
        #expect(vgg6.blockOutputShape(layer: 1) == (64, 32, 32))
        #expect(vgg6.blockOutputShape(layer: 2) == (64, 16, 16))
        #expect(vgg6.blockOutputShape(layer: 6) == (256, 4, 4))
        #expect(vgg6.flattenedSize == 4096)
        let avgg16 = try Architecture.preset("avgg16")
        #expect(avgg16.convolutionCount == 13)
        #expect(avgg16.blockOutputShape(layer: 7) == (256, 4, 4))
        for l in 8...12 { #expect(avgg16.blockOutputShape(layer: l) == (512, 4, 4)) }
        #expect(avgg16.blockOutputShape(layer: 13) == (512, 1, 1))
        #expect(avgg16.layers.last == .maxPool(size: 4))
    }
}
