import Foundation

/// `-pidfile`: the process ID in a file while the daemon serves, as CoreDNS (Caddy) writes it.
struct PidFile {
    let path: String

    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// Writes "PID\n"; a file that cannot be written stops start-up, as in CoreDNS.
    func write() throws(WriteError) {
        do {
            try Data("\(ProcessInfo.processInfo.processIdentifier)\n".utf8).write(to: URL(fileURLWithPath: path),
                                                                                options: .atomic)
        } catch {
            throw WriteError(description: "-pidfile \(path): cannot write the process ID: \(error.localizedDescription)")
        }
    }

    /// Removes the file on exit, if it still holds this process's ID (another instance may have taken it over).
    func remove() {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(ProcessInfo.processInfo.processIdentifier)"
        else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
