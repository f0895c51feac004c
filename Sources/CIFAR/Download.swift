import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches a file over HTTPS (or plain HTTP from this machine only: 127.0.0.1, ::1, localhost, which the tests use).
public enum Download {
    /// Progress of a download.
    public struct Progress: Sendable {
        /// Bytes received so far.
        public var received: Int64
        /// Bytes the server announced (Content-Length), nil when it did not.
        public var expected: Int64?
        /// Seconds since the request.
        public var elapsed: Double

        /// Bytes per second so far.
        public var rate: Double { elapsed > 0 ? Double(received) / elapsed : 0 }
        /// Seconds left at the current rate (NaN when unknown).
        public var secondsLeft: Double {
            guard let expected, rate > 0 else { return .nan }
            return Double(expected - received) / rate
        }
    }

    /// Whether `url` may be fetched: https anywhere, http only from the loopback interface.
    public static func isAllowed(_ url: URL) -> Bool {
        switch url.scheme?.lowercased() {
        case "https": return true
        case "http": return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host?.lowercased() ?? "")
        default: return false
        }
    }

    /// Downloads `url` into a new file `destination` (removed again on failure). Fails when the server answers other
    /// than 200, the connection breaks, or fewer bytes arrive than it announced. `progress` is called as data arrive.
    /// Returns the bytes received.
    public static func fetch(_ url: URL, to destination: URL, timeout: Double = 60,
                             progress: @escaping @Sendable (Progress) -> Void) throws(CIFARError) -> Int64 {
        guard isAllowed(url) else {
            throw CIFARError(path: url.absoluteString, problem: "not an https URL",
                             fix: "use https:// (plain http is accepted only from 127.0.0.1 or localhost)")
        }
        guard FileManager.default.createFile(atPath: destination.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: destination.path) else {
            throw CIFARError(path: destination.path, problem: "cannot create the file", fix: "choose a writable --out directory")
        }
        let receiver = Receiver(handle: handle, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        session.dataTask(with: request).resume()
        receiver.done.wait()
        session.finishTasksAndInvalidate()
        try? handle.close()
        let outcome = receiver.outcome()
        func fail(_ problem: String, _ fix: String) -> CIFARError {
            try? FileManager.default.removeItem(at: destination)
            return CIFARError(path: url.absoluteString, problem: problem, fix: fix)
        }
        if let status = outcome.status, status != 200 {
            throw fail("the server answered HTTP \(status)", "check the URL (--url)")
        }
        if let error = outcome.error {
            let got = outcome.expected.map { "\(outcome.received) of \($0) bytes" } ?? "\(outcome.received) bytes"
            throw fail("the download stopped after \(got) (\(error))", "check the connection and run the command again")
        }
        if let writeError = outcome.writeError {
            throw fail("cannot write \(destination.path): \(writeError)", "check free disk space")
        }
        if let expected = outcome.expected, outcome.received != expected {
            throw fail("the download is truncated: \(outcome.received) of \(expected) bytes arrived",
                       "run the command again")
        }
        return outcome.received
    }

    /// The session delegate: writes data to the file as it arrives and records the outcome.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        struct Outcome {
            var status: Int?
            var expected: Int64?
            var received: Int64 = 0
            var error: String?
            var writeError: String?
        }

        let done = DispatchSemaphore(value: 0)
        private let handle: FileHandle
        private let progress: @Sendable (Progress) -> Void
        private let lock = NSLock()
        private var state = Outcome()
        private let started = Date()

        init(handle: FileHandle, progress: @escaping @Sendable (Progress) -> Void) {
            self.handle = handle
            self.progress = progress
        }

        func outcome() -> Outcome { lock.withLock { state } }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            let status = (response as? HTTPURLResponse)?.statusCode
            lock.withLock {
                state.status = status
                state.expected = response.expectedContentLength > 0 ? response.expectedContentLength : nil
            }
            completionHandler(status == 200 ? .allow : .cancel)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let snapshot: Progress = lock.withLock {
                if state.writeError == nil {
                    do { try handle.write(contentsOf: data) } catch { state.writeError = error.localizedDescription }
                }
                state.received += Int64(data.count)
                return Progress(received: state.received, expected: state.expected, elapsed: Date().timeIntervalSince(started))
            }
            progress(snapshot)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.withLock {
                if let error, state.status == nil || state.status == 200 { state.error = error.localizedDescription }
            }
            done.signal()
        }
    }
}
