import CIFAR
import Foundation
import HDF5
import Testing
import TestSupport

/// 3 x 32 x 32 pixels of the striped pattern of `pattern` (as `makeTinyDataset` draws its labels), with noise.
func stripedPixels(pattern: Int, next: () -> UInt64) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: LabeledImages.pixelsPerImage)
    for channel in 0..<3 {
        for y in 0..<32 {
            for x in 0..<32 {
                let stripe = ((x + y * (pattern % 3)) / (2 + pattern % 4)) % 2 == 0
                let base = stripe ? 60 + 18 * (pattern % 10) : 200 - 12 * (pattern % 10)
                let tint = channel == pattern % 3 ? 40 : 0
                pixels[channel * 1024 + y * 32 + x] = UInt8(min(255, base + tint + Int(next() % 30)))
            }
        }
    }
    return pixels
}

/// Writes `<root>/cifar-100-binary.tar.gz`, an archive in the official CIFAR-100 layout whose images are striped by
/// coarse label (so a tiny network learns coarse labels); fine label = 5 x coarse + image index % 5.
func makeCIFAR100Archive(in root: URL, train: Int = 2000, test: Int = 600) throws -> URL {
    var state: UInt64 = 99
    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    func records(_ count: Int) -> Data {
        var pixels: [UInt8] = [], fine: [UInt8] = [], coarse: [UInt8] = []
        for index in 0..<count {
            let label = Int(next() % 20)
            coarse.append(UInt8(label))
            fine.append(UInt8(5 * label + index % 5))
            pixels += stripedPixels(pattern: label, next: next)
        }
        return CIFAR100.encode(pixels: pixels, fine: fine, coarse: coarse)
    }
    let folder = CIFAR100.folderName
    let members = [
        TarMember("\(folder)/", type: "5"),
        TarMember("\(folder)/train.bin", records(train)),
        TarMember("\(folder)/test.bin", records(test)),
        TarMember("\(folder)/fine_label_names.txt", Data((0..<100).map { "fine\($0)" }.joined(separator: "\n").utf8)),
        TarMember("\(folder)/coarse_label_names.txt", Data((0..<20).map { "group\($0)" }.joined(separator: "\n").utf8)),
    ]
    let archive = root.appendingPathComponent("cifar-100-binary.tar.gz")
    try gzipped(tarArchive(members)).write(to: archive)
    return archive
}

/// Packs the files of `makeTinyDataset` into `<root>/cifar-10-binary.tar.gz` (official layout) and removes the folder,
/// so the only way to the data is the archive.
func makeCIFAR10Archive(trainPerFile: Int = 100, test: Int = 200) throws -> (root: URL, archive: URL) {
    let root = try makeTinyDataset(trainPerFile: trainPerFile, test: test)
    let folder = root.appendingPathComponent("data/cifar-10-batches-bin")
    let members = try (CIFAR10.Split.train.fileNames + CIFAR10.Split.test.fileNames).map {
        TarMember("cifar-10-batches-bin/\($0)", try Data(contentsOf: folder.appendingPathComponent($0)))
    }
    try FileManager.default.removeItem(at: root.appendingPathComponent("data"))
    let archive = root.appendingPathComponent("cifar-10-binary.tar.gz")
    try gzipped(tarArchive(members)).write(to: archive)
    return (root, archive)
}

@Suite("datasets: archives, downloads, CIFAR-100, label subsets", .serialized)
struct DatasetCommandTests {
    @Test("from a CIFAR-10 archive to a report on three of its labels, with the checksum recorded")
    func cifar10Subset() throws {
        let (root, archive) = try makeCIFAR10Archive(trainPerFile: 300, test: 600)
        defer { try? FileManager.default.removeItem(at: root) }
        let md5 = try systemMD5(archive)
        let prepare = try runFilterLens(["data", "prepare", "--from", "cifar-10-binary.tar.gz"], in: root)
        #expect(prepare.status == 0, "\(prepare.errors)")
        #expect(prepare.errors.contains("warning:") && prepare.errors.contains("not the official c32a1d4ab5d03f1284b67883e8d87530"))
        #expect(prepare.output.contains("MD5 \(md5): not the official MD5"))
        let check = try runFilterLens(["data", "check"], in: root)
        #expect(check.status == 0 && check.output.contains("source archive MD5: \(md5)"), "\(check.errors)")
        let run = try runFilterLens(["run", "--preset", "tiny", "--labels", "0,3,5", "--epochs", "3", "--subset", "450",
                                     "--test-subset", "150", "--out", "runs/three"], in: root)
        #expect(run.status == 0, "\(run.errors)")
        let directory = root.appendingPathComponent("runs/three")
        let file = try H5File.open(directory.appendingPathComponent("run.h5").path)
        #expect(try file.root.stringsAttribute("label_names") == ["airplane", "cat", "dog"])
        let config = try file.root.openGroup("config")
        #expect(try config.intsAttribute("labels") == [0, 3, 5])
        #expect(try config.intAttribute("label_count") == 3)
        #expect(try config.stringAttribute("data_md5") == md5)
        #expect(try file.root.openGroup("provenance").stringAttribute("dataset_md5") == md5)
        #expect(try H5File.open(directory.appendingPathComponent("probe.h5").path).root.openDataset("layer01/weight").shape.first == 3)
        // Learning shows in the training SR: after 15 batches the test SR, read through batch-norm running statistics
        // that start at variance 1 while PyTorch's default init gives conv outputs of about a sixth of it, is not
        // yet a measure of it (0.33 here).
        let sr = try file.root.openDataset("training/train_sr").read(as: Double.self)
        #expect(sr.last! > 0.6, "three striped labels are learnt well above chance (1/3): \(sr)")
        let activations = try H5File.open(directory.appendingPathComponent("activations.h5").path)
        let labels = try activations.root.openDataset("labels").read(as: Int32.self)
        #expect(Set(labels) == [0, 1, 2] && labels.count == 150)
        let analysis = try H5File.open(directory.appendingPathComponent("analysis.h5").path)
        #expect(try analysis.root.openDataset("layers/layer01/raw").shape.suffix(2) == [3, 3])
        #expect(try analysis.root.stringsAttribute("label_names") == ["airplane", "cat", "dog"])
        let report = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains(md5) && report.contains("cat (3)"))
        #expect(report.contains("3 of 10 labels"))
    }

    @Test("CIFAR-100 from its archive: coarse label subsets through every phase, and all 100 fine labels")
    func cifar100() throws {
        let root = try makeScratchDirectory(prefix: "filterlens-cli-c100")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try makeCIFAR100Archive(in: root)
        let prepare = try runFilterLens(["data", "prepare", "--from", "cifar-100-binary.tar.gz", "--out", "data"], in: root)
        #expect(prepare.status == 0, "\(prepare.errors)")
        let check = try runFilterLens(["data", "check", "data", "--label-set", "coarse"], in: root)
        #expect(check.status == 0 && check.output.contains("20 coarse labels") && check.output.contains("group19"), "\(check.errors)")
        let train = try runFilterLens(["train", "--preset", "tiny", "--data", "data", "--label-set", "coarse", "--labels", "4",
                                       "--epochs", "2", "--out", "coarse4"], in: root)
        #expect(train.status == 0, "\(train.errors)")
        for step in [["probe", "coarse4"], ["analyze", "coarse4"], ["report", "coarse4"]] {
            let result = try runFilterLens(step, in: root)
            #expect(result.status == 0, "\(step): \(result.errors)")
        }
        let file = try H5File.open(root.appendingPathComponent("coarse4/run.h5").path)
        #expect(try file.root.stringsAttribute("label_names") == ["group0", "group1", "group2", "group3"])
        #expect(try file.root.openGroup("config").stringAttribute("label_set") == "coarse")
        #expect(try file.root.openGroup("config").stringAttribute("data_format") == "cifar-100")
        #expect(try file.root.stringAttribute("dataset").hasPrefix("CIFAR-100"))
        let sr = try file.root.openDataset("training/train_sr").read(as: Double.self)   // as above: learning, not BN lag
        #expect(sr.last! > 0.5, "four striped coarse labels are learnt above chance (1/4): \(sr)")
        let csv = try String(contentsOf: root.appendingPathComponent("coarse4/layers.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3)

        let fine = try runFilterLens(["run", "--preset", "tiny", "--data", "data/cifar-100-binary", "--epochs", "1", "--out", "fine"], in: root)
        #expect(fine.status == 0, "\(fine.errors)")
        let analysis = try H5File.open(root.appendingPathComponent("fine/analysis.h5").path)
        #expect(try analysis.root.openDataset("layers/layer02/binary").shape.suffix(2) == [100, 100])
        let png = try Data(contentsOf: root.appendingPathComponent("fine/figures/layer01_examples.png"))
        // The example matrices grow with 100 labels, to 18 in at most (tick names thinned rather than shrunk).
        #expect(pngSize(png).width > 15 * 150 && pngSize(png).width <= 18 * 150, "\(pngSize(png))")
        let gallery = try String(contentsOf: root.appendingPathComponent("fine/figures/layer02_filters.csv"), encoding: .utf8)
        #expect(gallery.hasPrefix("filter,clusters,noise,raw_matrix,binary_matrix\n") && gallery.contains("analysis.h5:/layers/layer02/raw[0]"),
                "the gallery's CSV names the datasets instead of repeating 100 x 100 x F numbers")
        #expect(gallery.utf8.count < 200 * 100, "one short line a filter: \(gallery.utf8.count) bytes")
        if let text = try pdfText(root.appendingPathComponent("fine/figures/dominant_labels.pdf").path) {
            #expect(text.contains("fine0") && text.contains("fine98"), "label names on the axis")
        }
    }

    @Test("--download over loopback HTTP: progress, the MD5 check, a truncated transfer, a 404")
    func download() throws {
        let (root, archive) = try makeCIFAR10Archive(trainPerFile: 300, test: 300)
        defer { try? FileManager.default.removeItem(at: root) }
        let served = root.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: archive, to: served.appendingPathComponent("cifar-10-binary.tar.gz"))
        let md5 = try systemMD5(served.appendingPathComponent("cifar-10-binary.tar.gz"))
        let server = try LoopbackServer(serving: served)
        defer { server.stop() }
        let url = server.baseURL.appendingPathComponent("cifar-10-binary.tar.gz").absoluteString
        let progress = ["FILTERLENS_PROGRESS_SECONDS": "0"]

        let good = try runFilterLens(["data", "prepare", "--download", "--url", url, "--md5", md5, "--out", "d1"], in: root,
                                     environment: progress)
        #expect(good.status == 0, "\(good.errors)")
        #expect(good.errors.contains("/s  ETA"), "progress with rate and ETA: \(good.errors)")
        #expect(good.output.contains("MD5 \(md5): OK, as --md5 expects"))
        #expect(try systemMD5(root.appendingPathComponent("d1/cifar-10-binary.tar.gz")) == md5)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("d1/cifar-10-batches-bin/test_batch.bin").path))
        let again = try runFilterLens(["data", "prepare", "--download", "--url", url, "--out", "d1"], in: root)
        #expect(again.status == 0 && again.output.contains("already prepared"))

        // Without --md5 the official checksum is expected: this archive is refused and nothing stays behind.
        let mismatch = try runFilterLens(["data", "prepare", "--download", "--url", url, "--out", "d2"], in: root)
        #expect(mismatch.status == 1)
        #expect(mismatch.errors.contains("MD5 \(md5) differs from the expected c32a1d4ab5d03f1284b67883e8d87530"), "\(mismatch.errors)")
        #expect(mismatch.errors.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("d2").path)) ?? []).isEmpty)

        let cut = server.baseURL.appendingPathComponent("truncated/cifar-10-binary.tar.gz").absoluteString
        let truncated = try runFilterLens(["data", "prepare", "--download", "--url", cut, "--md5", md5, "--out", "d3"], in: root)
        #expect(truncated.status == 1)
        #expect(truncated.errors.contains("truncated") || truncated.errors.contains("stopped after"), "\(truncated.errors)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("d3").path)) ?? []).isEmpty)

        let missing = try runFilterLens(["data", "prepare", "--download", "--url", server.baseURL.appendingPathComponent("nothing.tar.gz").absoluteString,
                                         "--out", "d4"], in: root)
        #expect(missing.status == 1 && missing.errors.contains("HTTP 404"), "\(missing.errors)")

        let plain = try runFilterLens(["data", "prepare", "--download", "--url", "http://example.com/cifar-10-binary.tar.gz"], in: root)
        #expect(plain.status != 0 && plain.errors.contains("https"))
    }

    @Test("sweep-labels: one run per count, a table and figures against the count, resumable")
    func sweep() throws {
        let root = try makeTinyDataset(trainPerFile: 200, test: 300)
        defer { try? FileManager.default.removeItem(at: root) }
        let common = ["sweep-labels", "--preset", "tiny", "--data", "data", "--counts", "5,2", "--epochs", "2", "--out", "sweep"]
        let result = try runFilterLens(common, in: root)
        #expect(result.status == 0, "\(result.errors)")
        let sweep = root.appendingPathComponent("sweep")
        let table = try String(contentsOf: sweep.appendingPathComponent("sweep.csv"), encoding: .utf8).split(separator: "\n")
        #expect(table.count == 3 && table[0].hasPrefix("labels,full_sr,full_error"))
        #expect(table[1].hasPrefix("2,") && table[2].hasPrefix("5,"), "ascending counts")
        let full = table.dropFirst().map { Double($0.split(separator: ",")[1])! }
        #expect(full.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(full)")
        // Learning shows in the training SR (the test SR of two short epochs is batch-norm lag, as in the test above).
        for (count, chance) in [(2, 0.5), (5, 0.2)] {
            let run = try H5File.open(sweep.appendingPathComponent("labels-\(count)/run.h5").path)
            let trainSR = try run.root.openDataset("training/train_sr").read(as: Double.self)
            #expect(trainSR.last! > chance + 0.1, "\(count) labels learn above chance: \(trainSR)")
        }
        let layers = try String(contentsOf: sweep.appendingPathComponent("sweep_layers.csv"), encoding: .utf8).split(separator: "\n")
        #expect(layers.count == 1 + 2 * 2, "two counts x two layers")
        for name in ["compare.html", "figures/sweep_labels.pdf", "figures/sweep_labels.png", "figures/sweep_labels.csv",
                     "labels-2/report.html", "labels-5/analysis.h5"] {
            #expect(FileManager.default.fileExists(atPath: sweep.appendingPathComponent(name).path), "\(name)")
        }
        let run = try H5File.open(sweep.appendingPathComponent("labels-5/run.h5").path)
        #expect(try run.root.stringsAttribute("label_names") == Array(CIFAR10.labelNames.prefix(5)))
        let again = try runFilterLens(common + ["--resume"], in: root)
        #expect(again.status == 0, "\(again.errors)")
        #expect(again.output.components(separatedBy: "phase 1 of").count == 3 && again.output.contains("nothing to resume"))
        let refused = try runFilterLens(common, in: root)
        #expect(refused.status != 0 && refused.errors.contains("--resume"))
    }

    @Test("bad label choices are one error line and a non-zero exit", arguments: [
        (["train", "--preset", "tiny", "--data", "data", "--labels", "0,10", "--out", "r"], "label 10 is outside 0...9"),
        (["train", "--preset", "tiny", "--data", "data", "--labels", "1", "--out", "r"], "2...10"),
        (["train", "--preset", "tiny", "--data", "data", "--labels", "2,x", "--out", "r"], "\"x\" is not a number"),
        (["train", "--preset", "tiny", "--data", "data", "--label-set", "fine", "--out", "r"], "--label-set applies to CIFAR-100"),
        (["data", "prepare", "--from", "missing.tar.gz"], "missing.tar.gz: archive not found"),
        (["data", "prepare", "--from", "a.tar.gz", "--download"], "exclude each other"),
    ])
    func badLabels(arguments: [String], mentions: String) throws {
        let root = try makeTinyDataset(trainPerFile: 1, test: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runFilterLens(arguments, in: root)
        #expect(result.status != 0)
        #expect(result.errors.contains(mentions), "stderr: \(result.errors)")
        #expect(!result.errors.contains("Fatal error"), "no crash")
    }
}
