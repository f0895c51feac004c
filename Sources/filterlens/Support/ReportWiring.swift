import CIFAR
import Foundation
import Pipeline
import Report
import RunStore

/// Report wiring: the run's figures and report.html, after removing the temporaries a killed report left.
enum ReportWiring {
    static func run(directory: URL, templates: String? = nil) throws -> URL {
        RunDirectory(directory).removeStaleTemporaries()   // figures a killed report left half-written
        let set = try TemplateSet(directory: TemplateSet.locate(explicit: templates))
        let started = Date()
        let url = try RunReport.write(directory: directory, templates: set, testImages: testImages(of: directory)) { name in
            FileHandle.standardError.write(Data("  figure \(name)\n".utf8))
        }
        say(String(format: "report written in %.1fs", Date().timeIntervalSince(started)))
        return url
    }

    /// The run's test images, in the order activations.h5 holds them (run.h5's data folder, labels and test-image
    /// count), for the filter panels' top images; nil for a run trained elsewhere (its report uses the copies in
    /// fields.h5), and nil with a line saying why when the data can't be read (the panels then name the images).
    static func testImages(of directory: URL) -> TestImageLookup? {
        guard let run = try? RunFileReader(directory.appendingPathComponent(RunLayout.runFile)),
              let configuration = try? run.configuration() else { return nil }
        let test: LabeledImages
        do {
            let dataset = try RunData.dataset(of: configuration)
            test = try dataset.load(.test, limit: configuration.testImages, labels: try RunData.selection(dataset, for: configuration))
        } catch {
            say("report: the filter panels show no top images: the run's test images can't be read (\(error)); restore \(configuration.dataDirectory) and run `filterlens report` again")
            return nil
        }
        let side = LabeledImages.geometry.side, plane = side * side
        return { index in
            guard index >= 0 && index < test.count else { return nil }
            // CIFAR stores each image as three planes (red, green, blue); the report wants RGB triples.
            let base = index * LabeledImages.pixelsPerImage
            var rgb = [UInt8](repeating: 0, count: 3 * plane)
            for p in 0..<plane {
                for channel in 0..<3 { rgb[3 * p + channel] = test.pixels[base + channel * plane + p] }
            }
            return TestImage(height: side, width: side, rgb: rgb)
        }
    }
}
