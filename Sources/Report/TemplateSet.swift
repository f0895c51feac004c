import Foundation
import Mustache

/// A fault in the report templates: names the file and the fix.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public let fix: String
    public var description: String { "\(path): \(problem); \(fix)" }
}

/// The Mustache templates of `templates/` (`report`, `compare`, and their partials `figure`, `style`).
/// `{{name}}` escapes HTML; the templates never use the unescaped form for data.
public struct TemplateSet {
    private let library: MustacheLibrary
    /// The folder read.
    public let directory: URL

    /// Loads every `*.mustache` file of `directory`.
    public init(directory: URL) throws(ReportError) {
        self.directory = directory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".mustache") }
        } catch {
            throw ReportError(path: directory.path, problem: "cannot read the templates folder",
                              fix: "run from the FilterLens checkout or pass --templates with its templates/ folder")
        }
        var templates: [String: MustacheTemplate] = [:]
        for name in names {
            let url = directory.appendingPathComponent(name)
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
            } catch {
                throw ReportError(path: url.path, problem: "invalid template (\(error))", fix: "restore it from the FilterLens checkout")
            }
        }
        library = MustacheLibrary(templates: templates)
    }

    /// Renders template `name` with `context`.
    public func render(_ name: String, _ context: [String: Any]) throws(ReportError) -> String {
        guard let html = library.render(context, withTemplate: name) else {
            throw ReportError(path: directory.appendingPathComponent(name + ".mustache").path, problem: "template missing",
                              fix: "restore templates/ from the FilterLens checkout")
        }
        return html
    }

    /// The templates folder: `explicit`, else `templates/` in the working directory, else the one of the checkout
    /// this executable was built in.
    public static func locate(explicit: String?) -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        let local = URL(fileURLWithPath: "templates")
        if FileManager.default.fileExists(atPath: local.appendingPathComponent("report.mustache").path) { return local }
        var executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            executable.deleteLastPathComponent()
            let candidate = executable.appendingPathComponent("templates")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("report.mustache").path) { return candidate }
        }
        var source = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { source.deleteLastPathComponent() }
        return source.appendingPathComponent("templates")
    }
}
