import Pruning
import Testing

/// Hand-made clusters: the masks must follow them entry by entry.
@Suite("AFCC masks")
struct AFCCMaskTests {
    /// 3 filters, 4 labels: filter 0 has clusters {0, 1} and {3}; filter 1 none; filter 2 the cluster {2}.
    let layer = FilterClusters(filterCount: 3, labelCount: 4, clusterOfLabel: [
        0, 0, -1, 1,
        -1, -1, -1, -1,
        -1, -1, 0, -1,
    ])

    @Test("label sets and cluster sizes come from cluster_of_label")
    func labelSets() {
        #expect(layer.labels(of: 0) == [0, 1, 3])
        #expect(layer.labels(of: 1) == [])
        #expect(layer.labels(of: 2) == [2])
        #expect(layer.clusterSizes(of: 0) == [2, 1])
        #expect(layer.clusterSizes(of: 1) == [])
        #expect(layer.filtersWithoutCluster == 1)
    }

    @Test("the head keeps filter f's weights to exactly the labels of its clusters")
    func headMask() {
        let (h, w) = (2, 3)
        let mask = AFCC.headMask(layer, height: h, width: w)
        #expect(mask.shape == [4, 3 * h * w])
        #expect(mask.dimensionLabels == ["output_label", "feature"])
        for label in 0..<4 {
            for filter in 0..<3 {
                for position in 0..<(h * w) {
                    // feature index (c * H + h) * W + w = c * H * W + position
                    let kept = mask.keep[label * 3 * h * w + filter * h * w + position]
                    let expected: UInt8 = layer.labels(of: filter).contains(label) ? 1 : 0
                    #expect(kept == expected, "label \(label), filter \(filter), position \(position)")
                }
            }
        }
        // filter 0 keeps 3 labels x 6, filter 1 nothing, filter 2 one label x 6
        #expect(mask.keptWeights == (3 + 0 + 1) * h * w)
        #expect(mask.consideredWeights == 4 * 3 * h * w)
    }

    @Test("a kernel is kept exactly when the two filters' label sets intersect")
    func convolutionMask() {
        // Layer l+1: 2 filters; filter 0 has {1, 2}, filter 1 has {3}.
        let next = FilterClusters(filterCount: 2, labelCount: 4, clusterOfLabel: [
            -1, 0, 0, -1,
            -1, -1, -1, 0,
        ])
        let mask = AFCC.convolutionMask(input: layer, output: next)
        #expect(mask.shape == [2, 3])
        #expect(mask.weightsPerEntry == 9)
        // rows: output filters 0, 1; columns: input filters 0 ({0,1,3}), 1 (none), 2 ({2})
        #expect(mask.keep == [1, 0, 1,
                              1, 0, 0])
        #expect(mask.keptWeights == 3 * 9)
        #expect(mask.consideredWeights == 6 * 9)
        // a filter with no cluster as output keeps no input
        let silent = FilterClusters(filterCount: 1, labelCount: 4, clusterOfLabel: [-1, -1, -1, -1])
        #expect(AFCC.convolutionMask(input: layer, output: silent).keep == [0, 0, 0])
    }

    @Test("random clusters keep every filter's cluster sizes, and so its head count; the seed reproduces them")
    func randomClusters() {
        var rows: [Int32] = []
        for filter in 0..<40 {   // varied sizes: {}, {a}, {a, b}, {a, b}{c}, ...
            var row = [Int32](repeating: -1, count: 10)
            for label in 0..<(filter % 5) { row[(label * 3 + filter) % 10] = Int32(label / 2) }
            rows += row
        }
        let clusters = FilterClusters(filterCount: 40, labelCount: 10, clusterOfLabel: rows)
        let random = clusters.randomized(seed: 5)
        #expect(random == clusters.randomized(seed: 5))
        #expect(random != clusters.randomized(seed: 6))
        #expect(random != clusters)
        for filter in 0..<40 {
            #expect(random.clusterSizes(of: filter) == clusters.clusterSizes(of: filter))
        }
        let afcc = AFCC.headMask(clusters, height: 2, width: 2), control = AFCC.headMask(random, height: 2, width: 2)
        for filter in 0..<40 {
            let kept = { (mask: WeightMask) in (0..<10).reduce(0) { sum, label in
                sum + (0..<4).reduce(0) { $0 + Int(mask.keep[label * 160 + filter * 4 + $1]) } } }
            #expect(kept(afcc) == kept(control), "filter \(filter)")
        }
    }

    @Test("the rewired kernel mask keeps every row and column count, and moves connections")
    func rewiring() {
        var keep = [UInt8](repeating: 0, count: 12 * 16)
        for b in 0..<12 { for a in 0..<16 where (a * 7 + b * 3) % 5 < 2 { keep[b * 16 + a] = 1 } }
        let mask = WeightMask(shape: [12, 16], dimensionLabels: ["filter", "input_channel"], keep: keep, weightsPerEntry: 9)
        let rewired = AFCC.rewired(mask, seed: 3)
        #expect(rewired == AFCC.rewired(mask, seed: 3))
        #expect(rewired.keep != mask.keep)
        for b in 0..<12 { #expect(rewired.keptInRow(b) == mask.keptInRow(b)) }
        for a in 0..<16 {
            let column = { (m: WeightMask) in (0..<12).reduce(0) { $0 + Int(m.keep[$1 * 16 + a]) } }
            #expect(column(rewired) == column(mask))
        }
    }

    @Test("the control of AFCC keeps the same counts per filter in every masked tensor")
    func controlCounts() {
        let next = FilterClusters(filterCount: 5, labelCount: 4, clusterOfLabel: [
            0, -1, -1, -1,   -1, 0, 0, -1,   -1, -1, -1, 0,   0, 0, -1, 1,   -1, -1, -1, -1,
        ])
        let afcc = PruneMasks.afcc([layer, next], headHeight: 1, headWidth: 2)
        let control = PruneMasks.control(of: afcc, seed: 9, headHeight: 1, headWidth: 2)
        #expect(control.head.keptWeights == afcc.head.keptWeights)
        for filter in 0..<5 {
            let kept = { (mask: WeightMask) in (0..<4).reduce(0) { $0 + Int(mask.keep[$1 * 10 + filter * 2]) } }
            #expect(kept(control.head) == kept(afcc.head))
        }
        for b in 0..<5 { #expect(control.convolutions[0].keptInRow(b) == afcc.convolutions[0].keptInRow(b)) }
        #expect(control.convolutions[0].keptWeights == afcc.convolutions[0].keptWeights)
    }
}
