import Foundation

/// A small HTTP server on 127.0.0.1 (a free port the system picks) that serves the files of one folder, for the
/// download tests; it runs as a python3 child process that the test starts and `stop()`s, and exits by itself
/// after `lifetime` seconds in any case.
///
/// A request for `/truncated/NAME` answers with NAME's full Content-Length but sends only its first half and closes
/// the connection: a download that breaks off.
public final class LoopbackServer {
    /// The base URL, e.g. http://127.0.0.1:43125
    public let baseURL: URL
    private let process: Process

    private static let script = #"""
import http.server, os, signal, sys, threading
signal.pthread_sigmask(signal.SIG_SETMASK, [])   # the test process may have spawned us with signals blocked
root, lifetime = sys.argv[1], float(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        truncated = self.path.startswith("/truncated/")
        name = self.path.split("/")[-1]
        path = os.path.join(root, name)
        if "/" in name or name.startswith(".") or not os.path.isfile(path):
            self.send_error(404); return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncated else data)
        self.wfile.flush()
        if truncated: self.close_connection = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(lifetime, server.shutdown).start()
server.serve_forever()
"""#

    /// Starts serving `folder`.
    public init(serving folder: URL, lifetime: Double = 120) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, folder.path, String(lifetime)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let piece = output.fileHandleForReading.availableData
            if piece.isEmpty { break }
            line.append(piece)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// Stops the server (SIGKILL: a child may start with SIGTERM blocked) and waits for it to exit.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
