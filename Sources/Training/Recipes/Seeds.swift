import RunStore

/// How every random stream of a run derives from its one seed (`RunConfiguration.seed`). Changing any of these
/// changes every run's numbers.
extension RunConfiguration {
    /// Phase 2's seed is the run's seed plus this prime, so that its streams never coincide with phase 1's.
    public static let probeSeedOffset: UInt64 = 7_919

    /// The seed of phase 2: probe initialization, shuffling and augmentation (recorded in probe.h5's `/recipe@seed`).
    public var probeSeed: UInt64 { seed &+ Self.probeSeedOffset }
}

/// The streams of `SeededGenerator(seed:stream:)` each phase draws from, by epoch (0-based).
public enum SeedStream {
    /// Phase 1: the order of the training images in `epoch`.
    public static func trainingOrder(epoch: Int) -> UInt64 { UInt64(epoch) &* 2 &+ 1 }
    /// Phase 1: the augmentation draws of `epoch`.
    public static func trainingAugmentation(epoch: Int) -> UInt64 { UInt64(epoch) &* 2 &+ 2 }
    /// Phase 2: the order of the training images in `epoch`.
    public static func probeOrder(epoch: Int) -> UInt64 { 1_000 + UInt64(epoch) * 2 }
    /// Phase 2: the augmentation draws of `epoch`.
    public static func probeAugmentation(epoch: Int) -> UInt64 { 1_001 + UInt64(epoch) * 2 }
    /// Phase 2: the seed of layer `layer`'s probe weights (1-based layer), from phase 2's seed.
    public static func probeInitialization(probeSeed: UInt64, layer: Int) -> UInt64 { probeSeed &+ UInt64(layer) }

    /// Pruning's retraining: the order of the training images in `epoch`, from the prune recipe's seed (phase 1's
    /// streams, so that every pruned model and its controls see the same batches).
    public static func retrainingOrder(epoch: Int) -> UInt64 { trainingOrder(epoch: epoch) }
    /// Pruning's retraining: the augmentation draws of `epoch`, from the prune recipe's seed.
    public static func retrainingAugmentation(epoch: Int) -> UInt64 { trainingAugmentation(epoch: epoch) }
    /// Pruning's random control: the seed of the random clusters of pruned layer `index` (0-based, in the pruned
    /// layers' order) under control seed `controlSeed`.
    public static func controlClustersSeed(controlSeed: UInt64, index: Int) -> UInt64 {
        controlSeed &* 1_000_003 &+ UInt64(index)
    }
    /// Pruning's random control: the seed of the rewiring of kernel mask `index` (0-based) under `controlSeed`.
    public static func controlRewiringSeed(controlSeed: UInt64, index: Int) -> UInt64 {
        controlSeed &* 1_000_003 &+ 500 &+ UInt64(index)
    }
    /// Random clusters of the same sizes: filter `filter` (0-based) draws its permutation of the labels from this
    /// stream of its layer's control clusters seed.
    public static func controlClustersOfFilter(_ filter: Int) -> UInt64 { UInt64(filter) }
    /// Rewiring a kernel mask: its double-edge swaps draw from this stream of the rewiring seed.
    public static let controlRewiring: UInt64 = 77
}
