import Analysis
import Testing

@Suite("Normalization, binary matrices and clusters")
struct LabelMatrixTests {
    @Test("max normalization divides by the largest element; not positive means silent")
    func maxNormalization() throws {
        let raw = FilterLabelMatrix(rows: [[2, -1], [4, 1]])
        let normalized = try #require(raw.normalized(.max))
        #expect(normalized.values == [0.5, -0.25, 1, 0.25])
        #expect(FilterLabelMatrix(rows: [[0, -1], [-2, 0]]).normalized(.max) == nil)
        #expect(FilterLabelMatrix.zeros(labelCount: 3).normalized(.max) == nil)
    }

    @Test("column-centred normalization removes a column bright for every input label")
    func columnCentred() throws {
        let raw = FilterLabelMatrix(rows: [[1, 0, 5], [0, 1, 5], [0, 0, 5]])
        let byMax = try #require(raw.normalized(.max))
        #expect(byMax.binarized(threshold: 0.3) == BinaryLabelMatrix(rows: [[0, 0, 1], [0, 0, 1], [0, 0, 1]]))
        #expect(byMax.binarized(threshold: 0.3).greedyClusters() == [[2]])

        let centred = try #require(raw.normalized(.columnCentred))
        let expected: [Double] = [1, -0.5, 0, -0.5, 1, 0, -0.5, -0.5, 0]
        for (value, target) in zip(centred.values, expected) { #expect(abs(value - target) < 1e-12) }
        #expect(centred.binarized(threshold: 0.3).greedyClusters() == [[0], [1]])
        // Every column constant: nothing is left after centring.
        #expect(FilterLabelMatrix(rows: [[3, 1], [3, 1]]).normalized(.columnCentred) == nil)
    }

    @Test("an element exactly equal to the threshold is not bright")
    func thresholdTie() {
        let matrix = FilterLabelMatrix(rows: [[0.3, 0.3000001], [0.2999999, 1]])
        #expect(matrix.binarized(threshold: 0.3) == BinaryLabelMatrix(rows: [[0, 1], [0, 1]]))
        // 3 / 10 is exactly the double 0.3, so the off-diagonal elements stay dark after normalization.
        let filter = FilterAnalysis(raw: FilterLabelMatrix(rows: [[10, 3], [3, 10]]), parameters: AnalysisParameters())
        #expect(filter.clusters == [[0], [1]])
        #expect(filter.noise == 0)
    }

    @Test("several clusters, found greedily in label order")
    func severalClusters() {
        let binary = BinaryLabelMatrix(rows: [
            [1, 0, 1, 0, 0],
            [0, 1, 1, 0, 0],
            [1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 1, 1],
        ])
        // 2 pairs with both 0 and 1, but 0 and 1 do not pair: 0 comes first and takes 2.
        #expect(binary.greedyClusters() == [[0, 2], [1], [4]])
        #expect(binary.ones == 9)
        #expect(binary.onesInColumn(2) == 3)
    }

    @Test("no cluster when no diagonal element is bright")
    func noCluster() {
        let binary = BinaryLabelMatrix(rows: [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
        #expect(binary.greedyClusters().isEmpty)
    }

    @Test("a candidate joins only if every pair, in both directions, is bright")
    func pairwiseBothDirections() {
        // 1 -> 0 is dark: 0 and 1 stay apart.
        #expect(BinaryLabelMatrix(rows: [[1, 1], [0, 1]]).greedyClusters() == [[0], [1]])
        // 2 pairs with 0 both ways and 1 -> 2 is bright, but 2 -> 1 is dark: 2 stays out of {0, 1}.
        let binary = BinaryLabelMatrix(rows: [[1, 1, 1], [1, 1, 1], [1, 0, 1]])
        #expect(binary.greedyClusters() == [[0, 1], [2]])
        let full = BinaryLabelMatrix(rows: [[1, 1, 1], [1, 1, 1], [1, 1, 1]])
        #expect(full.greedyClusters() == [[0, 1, 2]])
    }
}
