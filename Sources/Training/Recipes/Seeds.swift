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
}
