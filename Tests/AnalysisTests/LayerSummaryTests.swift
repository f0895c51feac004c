import Analysis
import RunStore
import Testing

@Suite("Per-filter numbers and the layer summary")
struct LayerSummaryTests {
    /// Two clusters {0, 1} and {2}, one stray one at (3, 0): signal 5, noise 1, dominant column 0.
    static let twoClusters = FilterLabelMatrix(rows: [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    /// Nothing positive: silent.
    static let silent = FilterLabelMatrix(rows: Array(repeating: [-1, -2, -1, -3], count: 4))
    /// Column 3 bright for inputs 0..2 but (3, 3) dark: no cluster; all ones in the dominant column.
    static let noCluster = FilterLabelMatrix(rows: [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    /// Everything bright: one cluster of all 4 labels, signal 16, noise 0; column means tie, so column 0 dominates.
    static let allBright = FilterLabelMatrix(rows: Array(repeating: [1, 1, 1, 1], count: 4))

    @Test("per-filter clusters, signal, noise and dominant column")
    func filterNumbers() {
        let parameters = AnalysisParameters()
        let filter = FilterAnalysis(raw: Self.twoClusters, parameters: parameters)
        #expect(!filter.isSilent)
        #expect(filter.clusters == [[0, 1], [2]])
        #expect(filter.clusterAssignment == [0, 0, 1, -1])
        #expect(filter.signal == 5 && filter.noise == 1 && filter.ones == 6)
        #expect(filter.dominantLabel == 0)
        #expect(filter.dominantBrightRows == 3)
        #expect(filter.majorityBrightColumns == 1)
        #expect(filter.dominantOnesRatio == 1)

        let silent = FilterAnalysis(raw: Self.silent, parameters: parameters)
        #expect(silent.isSilent && silent.clusterCount == 0 && silent.signal == 0 && silent.noise == 0)
        #expect(silent.dominantLabel == -1 && silent.dominantOnesRatio.isNaN)
        #expect(silent.clusterAssignment == [-1, -1, -1, -1])
        #expect(silent.binary == .zeros(labelCount: 4) && silent.normalized == .zeros(labelCount: 4))

        let none = FilterAnalysis(raw: Self.noCluster, parameters: parameters)
        #expect(!none.isSilent && none.clusterCount == 0 && none.signal == 0 && none.noise == 3)
        #expect(none.dominantLabel == 3 && none.dominantOnesRatio == .infinity)

        let all = FilterAnalysis(raw: Self.allBright, parameters: parameters)
        #expect(all.clusters == [[0, 1, 2, 3]] && all.signal == 16 && all.noise == 0)
        #expect(all.dominantLabel == 0 && all.majorityBrightColumns == 4)
        #expect(abs(all.dominantOnesRatio - 1.0 / 3) < 1e-15)
    }

    @Test("layer summary of a hand-made set of filters")
    func summaryNumbers() {
        let layer = LayerAnalysis(rawMatrices: [Self.twoClusters, Self.silent, Self.noCluster, Self.allBright])
        let summary = layer.summary
        #expect(summary.filterCount == 4 && summary.silentCount == 1)
        #expect(summary.noClusterCount == 1 && summary.clusteredCount == 2)
        #expect(summary.silentFraction == 0.25 && summary.noClusterFraction == 0.25)
        #expect(summary.meanClustersPerFilter == 1.5)
        #expect(isClose(summary.meanClusterSize, 7.0 / 3, relative: 1e-14))
        #expect(summary.meanSignal == 10.5 && summary.meanNoise == 0.5)
        #expect(summary.snr == 21)
        #expect(summary.snrI == 3.5)  // (3 / 1 + 4 / max(0, 1)) / 2
        #expect(isClose(summary.meanDominantBrightRows, 10.0 / 3, relative: 1e-14))
        #expect(summary.meanMajorityBrightColumns == 2)
        #expect(isClose(summary.meanDominantOnesRatio, 2.0 / 3, relative: 1e-14))
        #expect(summary.infiniteDominantOnesRatioCount == 1)
        #expect(isClose(summary.pooledDominantOnesRatio, 10.0 / 15, relative: 1e-14))
        #expect(summary.clusterSizeHistogram == [1, 1, 0, 1])
        #expect(summary.dominantLabelShare == [2.0 / 3, 0, 0, 1.0 / 3])
        #expect(summary.parameters == AnalysisParameters(threshold: 0.3, normalization: .max))
    }

    @Test("[L]'s other noise readings: noise_cluster and noise with zeros, per filter and per layer")
    func noiseReadings() {
        // Clusters {0, 2}, {1}, {4}; the ones outside the squares are (0,4), (2,3), (4,0), (4,2): noise_f 4. Column 3
        // holds no cluster label, so (2,3) is not in noise_cluster: 3.
        let raw = FilterLabelMatrix(rows: [[1, 0, 1, 0, 1], [0, 1, 0, 0, 0], [1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 0, 1, 0, 1]])
        let filter = FilterAnalysis(raw: raw, parameters: AnalysisParameters())
        #expect(filter.clusters == [[0, 2], [1], [4]] && filter.noise == 4)
        #expect(filter.value(FilterColumns.noiseCluster) == 3)
        #expect(filter.value(FilterColumns.noiseWithZeros) == 4)
        let none = FilterAnalysis(raw: Self.noCluster, parameters: AnalysisParameters())
        #expect(none.noise == 3 && none.value(FilterColumns.noiseWithZeros) == 0 && none.value(FilterColumns.noiseCluster) == 0)

        // twoClusters: the stray (3,0) lies in cluster column 0, so noise_cluster 1; allBright 0.
        let summary = LayerAnalysis(rawMatrices: [Self.twoClusters, Self.silent, Self.noCluster, Self.allBright]).summary
        #expect(summary.value(LayerColumns.meanNoiseCluster) == 0.5)
        #expect(summary.value(LayerColumns.snrCluster) == 21)
        #expect(summary.value(LayerColumns.meanNoiseWithZeros) == 0.25)   // (1 + 0 + 0 + 0) / 4: no-cluster filters count 0
        #expect(summary.value(LayerColumns.snrWithZeros) == summary.snr)  // (21 / 4) / (1 / 4)
        #expect(LayerColumns.phaseThree.allSatisfy { summary.values[$0.name] != nil }, "every phase 3 column is computed")
    }

    @Test("stacked arrays for storage have the documented shapes")
    func stackedArrays() {
        let layer = LayerAnalysis(rawMatrices: [Self.twoClusters, Self.silent, Self.noCluster])
        #expect(layer.stackedRaw.count == 3 * 16 && layer.stackedNormalized.count == 3 * 16)
        #expect(layer.stackedBinary.count == 3 * 16)
        #expect(layer.stackedClusterAssignment == [0, 0, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1])
        #expect(Array(layer.stackedRaw[16..<32]) == Self.silent.values)
    }

    @Test("SNR is +infinity when clustered filters have no noise")
    func snrInfinity() {
        let summary = LayerAnalysis(rawMatrices: [Self.allBright, Self.silent]).summary
        #expect(summary.meanNoise == 0 && summary.meanSignal == 16)
        #expect(summary.snr == .infinity)
        #expect(summary.snrI == 4)
    }

    @Test("SNR and the cluster means are NaN when no filter has a cluster")
    func snrNaN() {
        let summary = LayerAnalysis(rawMatrices: [Self.silent, Self.noCluster]).summary
        #expect(summary.clusteredCount == 0)
        #expect(summary.snr.isNaN && summary.snrI.isNaN && summary.meanSignal.isNaN)
        #expect(summary.meanClusterSize.isNaN && summary.meanClustersPerFilter.isNaN)
        #expect(summary.clusterSizeHistogram == [0, 0, 0, 0])
        #expect(summary.dominantLabelShare == [0, 0, 0, 1])
    }

    @Test("a threshold sweep equals separate analyses at each threshold")
    func thresholdSweep() {
        let raw = [FilterLabelMatrix(rows: [[1, 0.4, 0], [0.4, 0.6, 0.2], [0, 0.2, 0.45]]), Self.silent3]
        let sweep = LayerAnalysis.thresholdSweep(rawMatrices: raw, thresholds: [0.3, 0.5])
        #expect(sweep.map(\.parameters.threshold) == [0.3, 0.5])
        // th 0.3: {0, 1} and {2}; th 0.5: {0}, {1}.
        #expect(sweep[0].meanSignal == 5 && sweep[0].meanNoise == 0)
        #expect(sweep[1].meanSignal == 2 && sweep[1].meanNoise == 0 && sweep[1].clusterSizeHistogram == [2, 0, 0])
        for (summary, threshold) in zip(sweep, [0.3, 0.5]) {
            let single = LayerAnalysis(rawMatrices: raw, parameters: AnalysisParameters(threshold: threshold)).summary
            #expect(summary.clusterSizeHistogram == single.clusterSizeHistogram)
            #expect(summary.meanSignal == single.meanSignal && summary.meanNoise == single.meanNoise)
        }
    }

    static let silent3 = FilterLabelMatrix.zeros(labelCount: 3)
}
