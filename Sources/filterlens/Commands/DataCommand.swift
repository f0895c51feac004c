import ArgumentParser
import CIFAR
import Foundation

/// `filterlens data`: prepare and check CIFAR-10.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare and check the CIFAR-10 binary files.",
        subcommands: [Prepare.self, Check.self])

    /// `filterlens data prepare`: builds the standard binary layout from the JPEG copy.
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build CIFAR-10's standard binary files from the JPEG copy (needs python3 with Pillow).",
            discussion: "Skipped when the files exist and check out; --force rebuilds. Data built this way is named \"\(JPEGCopy.datasetName)\" in every report.")

        @Option(help: "Folder of the JPEG copy (holds build-cifar10-bin).")
        var source = DefaultPaths.jpegSource

        @Option(help: "Folder to write; the files go to OUT/cifar-10-batches-bin.")
        var out = DefaultPaths.data

        @Flag(help: "Rebuild even if the files exist.")
        var force = false

        func run() throws {
            try reportingFailures {
                let destination = URL(fileURLWithPath: out)
                if !force, let existing = try? CIFAR10.batchDirectory(out),
                   (try? CIFAR10.read(file: existing.appendingPathComponent("test_batch.bin"), limit: 1)) != nil {
                    say("CIFAR-10 already prepared at \(existing.path) (--force rebuilds)")
                    return
                }
                say("building CIFAR-10 binary files from \(source) ...")
                let directory = try JPEGCopy.prepare(source: URL(fileURLWithPath: source), destination: destination)
                let train = try CIFAR10.load(.train, from: directory)
                let test = try CIFAR10.load(.test, from: directory)
                say("prepared \(JPEGCopy.datasetName) at \(directory.path): \(train.count) training, \(test.count) test images")
            }
        }
    }

    /// `filterlens data check`: counts and statistics per split.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the binary files and print per-split, per-label counts and pixel statistics.")

        @Argument(help: "Folder holding the batches (or their parent).")
        var directory = DefaultPaths.data

        func run() throws {
            try reportingFailures {
                let folder = try CIFAR10.batchDirectory(directory)
                say("data set: \(CIFAR10.datasetName(directory: folder))  (\(folder.path))")
                for split in CIFAR10.Split.allCases {
                    let images = try CIFAR10.load(split, from: folder)
                    let summary = DatasetSummary(images)
                    say("\(split.rawValue): \(images.count) images in \(split.fileNames.count) file(s)")
                    for (label, count) in summary.countsPerLabel.enumerated() {
                        say("  \(label) \(CIFAR10.labelNames[label].padding(toLength: 10, withPad: " ", startingAt: 0)) \(count)")
                    }
                    let channels = zip(["R", "G", "B"], zip(summary.channelMeans, summary.channelStandardDeviations))
                        .map { String(format: "%@ mean %.1f sd %.1f", $0, $1.0, $1.1) }
                    say("  pixels (0-255): " + channels.joined(separator: ", "))
                }
            }
        }
    }
}
