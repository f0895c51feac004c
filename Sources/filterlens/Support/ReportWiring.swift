import Foundation
import Pipeline
import Report

/// Report wiring: the run's figures and report.html, after removing the temporaries a killed report left.
enum ReportWiring {
    static func run(directory: URL, templates: String? = nil) throws -> URL {
        RunDirectory(directory).removeStaleTemporaries()   // figures a killed report left half-written
        let set = try TemplateSet(directory: TemplateSet.locate(explicit: templates))
        let started = Date()
        let url = try RunReport.write(directory: directory, templates: set) { name in
            FileHandle.standardError.write(Data("  figure \(name)\n".utf8))
        }
        say(String(format: "report written in %.1fs", Date().timeIntervalSince(started)))
        return url
    }
}
