import Engine
import Testing
import TestSupport

@Suite("architecture notation under random input")
struct ArchitectureFuzzTests {
    /// Strings per run; FILTERLENS_NOTATION_FUZZ_COUNT raises it for a long one-off run.
    static let count = fuzzTrials("FILTERLENS_NOTATION_FUZZ_COUNT", standard: 5_000)

    /// 5,000 strings built from notation-like tokens and random characters: each parses or throws an
    /// ArchitectureError that points at a token; never a crash. Parsed ones have consistent block shapes.
    @Test("random notation strings never crash the parser (5,000 by default)")
    func fuzzParser() {
        var random = FuzzRandom(seed: 0xA4C4_1702)
        let pieces = ["64", "M", "M4", "M2", "3", "0", "-8", "x", "M0", "MM", "512", "1e3", "", ",", "  ", "M9", "99999999999999999999", "é"]
        var parsed = 0, rejected = 0
        for _ in 0..<Self.count {
            let count = random.next() % 8
            var tokens: [String] = []
            for _ in 0..<count {
                if random.next() % 5 == 0 {
                    tokens.append(String((0..<(1 + random.next() % 4)).map { _ in Character(UnicodeScalar(UInt8(33 + random.next() % 90))) }))
                } else {
                    tokens.append(pieces[random.next() % pieces.count])
                }
            }
            let notation = tokens.joined(separator: random.next() % 4 == 0 ? "," : " ")
            do {
                let architecture = try Architecture(notation: notation)
                for layer in 1...max(architecture.convolutionCount, 1) where architecture.convolutionCount > 0 {
                    let shape = architecture.blockOutputShape(layer: layer)
                    #expect(shape.channels > 0 && shape.height > 0 && shape.width > 0)
                }
                parsed += 1
            } catch {
                #expect(!error.description.isEmpty)
                rejected += 1
            }
        }
        #expect(parsed + rejected == Self.count)
        #expect(parsed > 0 && rejected > 0, "both outcomes exercised")
    }
}
