import Foundation
import RunStore
import Testing

/// The measure columns are declared once (`LayerColumns`, `FilterColumns`); these checks hold the documentation and the
/// declarations together.
@Suite("measure columns")
struct MeasureColumnTests {
    /// docs/hdf5-layout.md, from this file's place in the repository.
    static let layoutDocument = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/hdf5-layout.md")

    @Test("every declared column is documented in docs/hdf5-layout.md")
    func documented() throws {
        let text = try String(contentsOf: Self.layoutDocument, encoding: .utf8)
        let words = Set(text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
        let missing = (LayerColumns.all + FilterColumns.all).map(\.name).filter { !words.contains($0) }
        #expect(missing.isEmpty, "docs/hdf5-layout.md does not name \(missing)")
    }

    @Test("names are unique, titles and definitions present")
    func wellFormed() {
        for columns in [LayerColumns.all, FilterColumns.all] {
            #expect(Set(columns.map(\.name)).count == columns.count)
            #expect(columns.allSatisfy { !$0.title.isEmpty && !$0.definition.isEmpty && !$0.unit.isEmpty })
            #expect(columns.allSatisfy { $0.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" } })
        }
        #expect(LayerColumns.named("snr") == LayerColumns.snr)
        #expect(LayerColumns.named("no_such_column") == nil)
    }
}
