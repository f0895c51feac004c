import Foundation

/// Names and versions of FilterLens's public HDF5 layout (docs/hdf5-layout.md).
public enum RunLayout {
    /// Root attribute `format` of a run file.
    public static let runFormat = "filterlens-run"
    /// Root attribute `format` of an activations file.
    public static let activationsFormat = "filterlens-activations"
    /// Root attribute `format` of an analysis file.
    public static let analysisFormat = "filterlens-analysis"
    /// Root attribute `format` of a field-sums file (phase 3's per-label sums, written instead of activations).
    public static let fieldsFormat = "filterlens-fields"
    /// Root attribute `format` of a probe file (phase 2's probes).
    public static let probeFormat = "filterlens-probe"
    /// Root attribute `format_version` this build writes. Bumped when a file of the old layout no longer reads as the
    /// new one: version 2 moved phase 2's probes from run.h5's `/probe` into probe.h5.
    public static let version = 2
    /// The `format_version`s this build reads: version 1 files too (`ProbeSource` reads a version 1 run.h5's `/probe`).
    public static let readableVersions = 1...version
    /// Root attribute `format_version` of `analysis.h5`: 3 stores raw and binary matrices without the normalized
    /// ones (derived from `raw` and `scale`), with dimension scales and coordinates (docs/hdf5-layout.md).
    public static let analysisVersion = 3
    /// The `format_version`s of `analysis.h5` this build reads.
    public static let analysisReadableVersions = 1...analysisVersion
    /// Root attribute `format_version` of a field-sums file, versioned on its own (docs/hdf5-layout.md, `fields.h5`).
    public static let fieldsVersion = 1

    /// File names inside a run directory.
    public static let runFile = "run.h5"
    public static let activationsFile = "activations.h5"
    public static let probeFile = "probe.h5"
    public static let fieldsFile = "fields.h5"
    public static let analysisFile = "analysis.h5"
    public static let checkpointFile = "checkpoint.h5"
    public static let probeCheckpointFile = "probe-checkpoint.h5"
    public static let analysisCheckpointFile = "analysis-checkpoint.h5"
    /// The HTML report (`filterlens report`), beside its figures in `figures/`.
    public static let reportFile = "report.html"
    /// The lock a command writing the run holds (flock(2)), with its pid, command and start in it: two writers of one
    /// run are refused, and `filterlens status` names the one at work. Not part of the HDF5 layout.
    public static let lockFile = ".filterlens.lock"

    /// Group and dataset name of convolutional layer `layer` (1-based): "layer01", "layer02", ...
    public static func layerName(_ layer: Int) -> String {
        layer < 10 ? "layer0\(layer)" : "layer\(layer)"
    }

    /// The version of FilterLens (`filterlens --version`, and the `filterlens_version` of every file it writes).
    public static let toolVersion = "0.1.0"

    /// Now, as ISO 8601 UTC, for `created` attributes.
    public static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
