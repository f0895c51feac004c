import Pruning
import Testing

@Suite("AFCC masks")
struct AFCCMaskTests {
    @Test("placeholder")
    func placeholder() { #expect(true) }
}
