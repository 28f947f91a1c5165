import Foundation
import Logging
import NIOCore
import Synchronization

/// CoreDNS's `hosts`: answers A, AAAA and PTR from a hosts file and the block's inline entries.
///
/// - A name outside the plugin's zones goes to the next plugin, except PTR queries, which are looked up in
///   any zone and go on when no entry has the address.
/// - A name with addresses only of the other family gets NOERROR with no answer (NODATA); other types for a
///   known name too.
/// - A name without any entry goes to the next plugin when `fallthrough` covers it, else gets SERVFAIL:
///   CoreDNS answers so because a hosts file has no SOA to build an NXDOMAIN with.
/// - The file is read at start and re-read every `reload` interval when its modification time or size changed
///   (0 turns that off); a file that cannot be read keeps the last entries, as in CoreDNS.
final class HostsPlugin: QueryStep {
    private let path: String
    private let zones: [DNSName]
    private let fallthroughZones: [DNSName]?
    private let ttl: UInt32
    private let reverse: Bool
    private let inline: HostsTable
    private let logger: Logger
    private let file = Mutex(FileState())
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    private struct FileState {
        var table = HostsTable()
        var modified: Date?
        var size: Int?
    }

    init(_ configuration: HostsConfiguration, logger: Logger) {
        path = configuration.file
        zones = configuration.zones.compactMap { try? DNSName($0) }
        fallthroughZones = configuration.fallthroughZones.map { $0.compactMap { try? DNSName($0) } }
        ttl = UInt32(clamping: configuration.ttl)
        reverse = configuration.autoReverse
        let inlineText = configuration.entries.map { ([$0.address] + $0.names).joined(separator: " ") }
            .joined(separator: "\n")
        inline = HostsTable(parsing: inlineText, zones: zones, reverse: configuration.autoReverse)
        self.logger = logger
        readIfChanged()
        if configuration.reload > .zero {
            let interval = configuration.reload
            watcher.withLock { task in
                task = Task { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        guard let self, !Task.isCancelled else { return }
                        self.readIfChanged()
                    }
                }
            }
        }
    }

    func stop() {
        watcher.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// Re-reads the file when its modification time or size differs from the last read.
    func readIfChanged() {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
        let modified = attributes[.modificationDate] as? Date
        let size = (attributes[.size] as? NSNumber)?.intValue
        let unchanged = file.withLock { $0.modified == modified && $0.size == size && $0.modified != nil }
        guard !unchanged, let data = FileManager.default.contents(atPath: path) else { return }
        let table = HostsTable(parsing: String(decoding: data, as: UTF8.self), zones: zones, reverse: reverse)
        file.withLock { $0 = FileState(table: table, modified: modified, size: size) }
        logger.debug("read hosts file", metadata: ["file": "\(path)", "entries": "\(table.count + inline.count)"])
    }

    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? {
        guard let question = query.question, case .reply(let reply) = answer(query, question: question) else {
            return nil
        }
        return reply
    }

    enum Outcome {
        case reply(DNSMessage)
        case next
    }

    /// What CoreDNS's hosts ServeDNS does for this query.
    func answer(_ query: DNSMessage, question: DNSQuestion) -> Outcome {
        let name = question.name
        let inZone = zones.contains { name.isSubdomain(of: $0) }
        // PTR names need not be in the zones; anything else outside them is not ours.
        if !inZone && question.type != .ptr { return .next }
        let table = file.withLock { $0.table }
        var records: [DNSResourceRecord] = []
        let owner = name.lowercasedName
        switch question.type {
        case .ptr:
            guard let address = ReverseName.address(from: name) else { return .next }
            let targets = table.names(for: address) + inline.names(for: address)
            if targets.isEmpty { return .next }
            records = targets.map { DNSResourceRecord.pointer(owner, target: $0, ttl: ttl) }
        case .a, .aaaa:
            let wantIPv6 = question.type == .aaaa
            let addresses = table.addresses(of: name, ipv6: wantIPv6) + inline.addresses(of: name, ipv6: wantIPv6)
            records = addresses.compactMap { DNSResourceRecord.address(owner, bytes: $0, ttl: ttl) }
        default:
            break
        }
        if records.isEmpty && !knows(name, table: table) {
            if let fallthroughZones, fallthroughZones.contains(where: { name.isSubdomain(of: $0) }) {
                return .next
            }
            return .reply(query.errorReply(.servFail))
        }
        var builder = DNSResponseBuilder(replyingTo: query)
        builder.append(contentsOf: records, to: .answer)
        return .reply(builder.build())
    }

    /// Whether the name has any address, so that an empty answer is NODATA rather than "no such name".
    private func knows(_ name: DNSName, table: HostsTable) -> Bool {
        for wantIPv6 in [false, true] {
            if !table.addresses(of: name, ipv6: wantIPv6).isEmpty || !inline.addresses(of: name, ipv6: wantIPv6).isEmpty {
                return true
            }
        }
        return false
    }
}
