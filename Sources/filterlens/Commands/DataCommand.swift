import ArgumentParser
import CIFAR
import Foundation

/// `filterlens data`: prepare and check CIFAR-10 and CIFAR-100.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare and check the CIFAR-10 or CIFAR-100 binary files.",
        subcommands: [Prepare.self, Check.self])

    /// `filterlens data prepare`: the standard binary layout from the JPEG copy, an official archive, or a download.
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prepare the binary files: from the JPEG copy of CIFAR-10 (the default), an official archive (--from), or a download (--download).",
            discussion: """
            --from ARCHIVE unpacks cifar-10-binary.tar.gz or cifar-100-binary.tar.gz (only the data set's own files, \
            validated, moved into place at once). Its MD5 is compared with the official one: a match is reported, another \
            archive is used with a warning. --download fetches the official archive over HTTPS with progress, and refuses \
            one whose MD5 differs. The checksum goes into OUT/<folder>/\(DataNote.fileName) and into the provenance of \
            every run trained on the files. Without --from or --download the JPEG copy is built (needs python3 with Pillow); \
            data built this way is named "\(JPEGCopy.datasetName)" in every report. The JPEG build and the download are \
            skipped when the files exist and check out (--force redoes them); --from always unpacks.
            """)

        @Option(help: "Folder of the JPEG copy (holds build-cifar10-bin).")
        var source = DefaultPaths.jpegSource

        @Option(help: "An official binary archive to unpack: cifar-10-binary.tar.gz or cifar-100-binary.tar.gz.")
        var from: String?

        @Flag(help: "Download the official binary archive of --dataset over HTTPS, check its MD5, and unpack it.")
        var download = false

        @Option(help: "What --download fetches: cifar-10 or cifar-100.")
        var dataset: DatasetFormat = .cifar10

        @Option(help: "Download from this URL instead of the authors' page (https; plain http only from 127.0.0.1).")
        var url: String?

        @Option(help: "The MD5 the archive must have (default: the official one; with --from, a mismatch with the official one is only a warning).")
        var md5: String?

        @Option(help: "Folder to write; the files go to OUT/cifar-10-batches-bin or OUT/cifar-100-binary.")
        var out = DefaultPaths.data

        @Flag(help: "Rebuild even if the files exist.")
        var force = false

        func validate() throws {
            if from != nil && download { throw ValidationError("--from and --download exclude each other; give one") }
            if url != nil && !download { throw ValidationError("--url needs --download") }
            if let md5, md5.count != 32 || !md5.allSatisfy(\.isHexDigit) {
                throw ValidationError("--md5 \(md5): an MD5 is 32 hex digits")
            }
            if (md5 != nil) && from == nil && !download { throw ValidationError("--md5 needs --from or --download") }
            if let url {
                guard let parsed = URL(string: url), Download.isAllowed(parsed) else {
                    throw ValidationError("--url \(url): use an https:// URL (plain http only from 127.0.0.1 or localhost)")
                }
            }
        }

        func run() throws {
            try reportingFailures {
                let destination = URL(fileURLWithPath: out)
                if from != nil || download {
                    try prepareArchive(destination: destination)
                    return
                }
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

        /// --from or --download.
        private func prepareArchive(destination: URL) throws {
            let archive: URL
            var downloaded = false
            if let from {
                archive = URL(fileURLWithPath: from)
            } else {
                let official = OfficialArchive.of(dataset)
                let folder = destination.appendingPathComponent(dataset.folderName)
                if !force, let existing = try? Dataset(format: dataset, directory: folder, labelSet: nil),
                   (try? existing.load(.test, limit: 1)) != nil {
                    say("\(dataset.displayName) already prepared at \(folder.path) (--force rebuilds)")
                    return
                }
                archive = try fetch(official, into: destination)
                downloaded = true
            }
            say("unpacking \(archive.path) ...")
            let prepared = try ArchivePreparation.prepare(archive: archive, destination: destination, expectedMD5: md5,
                                                          strictOfficial: downloaded) { warning in
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            let check = prepared.isOfficial ? "OK, the official MD5" : (md5 != nil ? "OK, as --md5 expects" : "not the official MD5")
            say("MD5 \(prepared.md5): \(check)")
            let data = try Dataset(format: prepared.format, directory: prepared.directory, labelSet: nil)
            let train = try data.load(.train), test = try data.load(.test)
            say("prepared \(prepared.note.name) at \(prepared.directory.path): \(train.count) training, \(test.count) test images")
        }
    }

    /// `filterlens data check`: counts and statistics per split.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the binary files and print per-split, per-label counts and pixel statistics.")

        @Argument(help: "Folder holding the binary files (or their parent).")
        var directory = DefaultPaths.data

        @Option(help: "CIFAR-100's label set to count: fine or coarse (selects CIFAR-100 under the folder).")
        var labelSet: LabelSet?

        func run() throws {
            try reportingFailures {
                let dataset = try Dataset.locate(directory, labelSet: labelSet)
                say("data set: \(dataset.name)  (\(dataset.directory.path))")
                if let md5 = dataset.sourceMD5 { say("source archive MD5: \(md5)" + (dataset.note?.archive.map { " (\($0))" } ?? "")) }
                let width = min(24, dataset.labelNames.map(\.count).max() ?? 10)
                for split in CIFAR10.Split.allCases {
                    let images = try dataset.load(split)
                    let summary = DatasetSummary(images, labelCount: dataset.labelCount)
                    say("\(split.rawValue): \(images.count) images in \(dataset.fileNames(split).count) file(s)")
                    for (label, count) in summary.countsPerLabel.enumerated() {
                        say("  \(String(label).leftPadded(3)) \(dataset.labelNames[label].padding(toLength: width, withPad: " ", startingAt: 0)) \(count)")
                    }
                    let channels = zip(["R", "G", "B"], zip(summary.channelMeans, summary.channelStandardDeviations))
                        .map { String(format: "%@ mean %.1f sd %.1f", $0, $1.0, $1.1) }
                    say("  pixels (0-255): " + channels.joined(separator: ", "))
                }
            }
        }
    }
}
