import CIFAR
import Foundation
import Testing
import TestSupport

@Suite("CIFAR-10 reader under random and mutated input")
struct CIFARFuzzTests {
    /// Inputs per run; FILTERLENS_CIFAR_FUZZ_COUNT raises it for a long one-off run.
    static let count = fuzzTrials("FILTERLENS_CIFAR_FUZZ_COUNT", standard: 3_000)

    /// Feeds 3,000 inputs (random bytes of random lengths, and valid files with flipped bytes, cut or extended) to the
    /// decoder: each must decode or throw a CIFARError, never crash; a decoded result must have consistent sizes.
    @Test("random and mutated inputs never crash the decoder (3,000 by default)")
    func fuzzDecoder() {
        var random = FuzzRandom(seed: 0xC1FA_2010)
        let valid = CIFAR10.encode(syntheticImages(4))
        var decoded = 0, rejected = 0
        for trial in 0..<Self.count {
            var bytes: Data
            switch trial % 3 {
            case 0:
                bytes = Data((0..<(random.next() % (3 * CIFAR10.recordSize))).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            case 1:
                bytes = valid
                for _ in 0..<(1 + random.next() % 8) { bytes[random.next() % bytes.count] = UInt8(truncatingIfNeeded: random.next()) }
            default:
                bytes = valid.prefix(random.next() % (valid.count + 1)) + Data(repeating: UInt8(truncatingIfNeeded: random.next()), count: random.next() % 4)
            }
            do {
                let images = try CIFAR10.decode(bytes, path: "fuzz-\(trial)")
                #expect(images.pixels.count == images.count * CIFAR10.pixelsPerImage)
                #expect(images.labels.allSatisfy { $0 < 10 })
                decoded += 1
            } catch {
                #expect(error.description.contains("fuzz-\(trial)"))
                rejected += 1
            }
        }
        #expect(decoded + rejected == Self.count)
        #expect(decoded > 0 && rejected > 0, "both outcomes exercised")
    }
}
