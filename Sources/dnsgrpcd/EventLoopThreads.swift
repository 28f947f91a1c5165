import Foundation
import NIOCore

/// How many event-loop threads to run: the cores this process may use. NIO's `System.coreCount` reads cgroup
/// limits but not the CPU affinity mask, so a daemon started under `taskset -c 0` would otherwise run two
/// loops on one core and pay a thread switch for every hop between them.
enum EventLoopThreads {
    static func `default`() -> Int {
        min(System.coreCount, allowedCPUs() ?? System.coreCount)
    }

    /// The number of CPUs in this process's affinity mask (`Cpus_allowed` in /proc/self/status), if readable.
    static func allowedCPUs() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }),
              let mask = line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) else { return nil }
        let count = mask.split(separator: ",").reduce(0) { count, word in
            count + (UInt32(word, radix: 16)?.nonzeroBitCount ?? 0)
        }
        return count > 0 ? count : nil
    }
}
