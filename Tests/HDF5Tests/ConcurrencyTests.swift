import Foundation
import HDF5
import Testing

extension HDF5Tests {
    @Suite("use from several threads")
    struct ConcurrencyTests {
        @Test("parallel tasks each write and read their own file")
        func parallelFiles() async throws {
            let directory = try TemporaryDirectory()
            let paths = (0..<8).map { directory.path("parallel-\($0).h5") }
            let matches = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, path) in paths.enumerated() {
                    group.addTask {
                        let values = (0..<4096).map { Float($0 + index) }
                        let dataset = try H5File.create(path).root.write("values", values, shape: [64, 64],
                                                                         chunk: [16, 16], compression: 1)
                        try dataset.setAttribute("index", index)
                        return try dataset.read(as: Float.self) == values && dataset.intAttribute("index") == index
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(matches == [Bool](repeating: true, count: paths.count))
        }

        @Test("failures print nothing to stderr, whichever thread makes them")
        func silentFailures() async throws {
            let directory = try TemporaryDirectory()
            let capturePath = directory.path("stderr.txt")
            fflush(nil)
            let savedError = dup(STDERR_FILENO)
            let capture = open(capturePath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(savedError >= 0 && capture >= 0)
            dup2(capture, STDERR_FILENO)
            let missingPaths = (0..<4).map { directory.path("missing-\($0).h5") }
            let failures = await withTaskGroup(of: Bool.self) { group in
                for path in missingPaths {
                    group.addTask {
                        do throws(HDF5Error) {
                            _ = try H5File.open(path)
                            return false
                        } catch {
                            return true
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            fflush(nil)
            dup2(savedError, STDERR_FILENO)
            close(savedError)
            close(capture)
            #expect(failures == 4)
            let printed = try String(contentsOfFile: capturePath, encoding: .utf8)
            #expect(!printed.contains("HDF5-DIAG"), "\(printed)")
        }
    }
}
