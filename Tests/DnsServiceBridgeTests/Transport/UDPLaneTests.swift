import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Testing
@testable import DnsServiceBridge

/// One worker's sockets to one upstream, driven by hand against a loopback socket standing in for the upstream:
/// every query in flight leaves under its own random ID, a reply is taken by that ID and question only, deadlines
/// are found by the sweep, and sockets rotate after `expire` and close once drained.
@Suite struct UDPLaneTests {
    private final class Harness {
        let upstreamSocket: DatagramSocket
        let counters = TransportCounters()
        let set: UpstreamSet
        let lane: UDPLane
        let batch: DatagramBatch

        init(expire: TimeAmount, sockets: Int = 1) throws {
            batch = try #require(DatagramBatch(capacity: 32, slotSize: UDPLane.largestDatagram))
            upstreamSocket = try DatagramSocket.bind(host: "127.0.0.1", port: 0)
            let address = try #require(upstreamSocket.localAddress)
            let group = MultiThreadedEventLoopGroup.singleton
            set = UpstreamSet(zone: .root, except: [], transports: [(SilentExchanger("\(address)"), weight: 1)],
                              policy: .random, options: ForwardOptions(),
                              metrics: ForwardMetrics(plugin: "forward", factory: TestMetrics()), group: group,
                              logger: Logger(label: "test"))
            let target = UDPLane.Target(key: ObjectIdentifier(counters), label: "\(address)", address: address,
                                        counters: counters, expire: expire)
            lane = try #require(UDPLane(target: target, batchSize: 4, sockets: sockets))
        }

        deinit {
            _ = lane.closeAll()
            set.stop()
        }

        func query(_ id: UInt16) throws -> DNSMessage {
            DNSMessage.query(name: try DNSName("q\(id).example.org."), type: .a, id: id)
        }

        func send(_ id: UInt16, at now: NIODeadline, timeout: TimeAmount = .seconds(2)) throws -> Bool {
            var walk = ForwardWalk(query: try query(id), sets: [set][...], transport: .udp)
            _ = walk.start(now: now)  // counts the exchange in flight with the set's only upstream
            let forwarded = ListenerEngine.Forwarded(walk: walk, routeIndex: 0, received: now)
            return lane.send(UDPLane.Pending(query: walk.query, waiter: .walk(forwarded, replyTo: .datagram(DatagramPeer())),
                                             deadline: now + timeout), now: now)
        }

        /// What reached the upstream: the IDs, in order.
        func receivedIDs(expecting count: Int) -> [UInt16] {
            received(expecting: count).map(\.id)
        }

        /// What reached the upstream: each query's ID and source port, in order.
        func received(expecting count: Int) -> [(id: UInt16, port: Int)] {
            var seen: [(id: UInt16, port: Int)] = []
            for _ in 0..<1500 where seen.count < count {
                _ = DatagramReadiness.wait(for: [upstreamSocket.waitable], timeoutMS: 20)
                _ = batch.receive(from: upstreamSocket) { bytes, _, peer in
                    seen.append((UInt16(bytes[0]) << 8 | UInt16(bytes[1]), peer.socketAddress?.port ?? -1))
                }
            }
            return seen
        }
    }

    @Test func queriesLeaveUnderDistinctIDsAndAReplyIsTakenByItsIDOnly() throws {
        let harness = try Harness(expire: .seconds(10))
        let now = NIODeadline.now()
        for _ in 0..<6 { #expect(try harness.send(4242, at: now)) }  // more than a batch: flushed on the way
        harness.lane.flush()
        let ids = harness.receivedIDs(expecting: 6)
        #expect(ids.count == 6 && Set(ids).count == 6, "each query in flight under its own ID: \(ids)")
        #expect(!ids.contains(4242), "the client's ID never leaves")
        let socket = try #require(harness.lane.slots[0])
        let stranger = try #require((UInt16(0)...UInt16(64)).first { !ids.contains($0) })
        #expect(harness.lane.take(stranger, on: socket, now: now) == nil, "an ID nothing waits under")
        let taken = try #require(harness.lane.take(ids[0], on: socket, now: now))
        #expect(taken.query.header.id == 4242)
        #expect(harness.lane.take(ids[0], on: socket, now: now) == nil, "taken once")
        #expect(harness.set.upstreams[0].inFlight == 6, "the upstream counts the relay's exchanges for least_conn")
    }

    @Test func theSweepFindsExpiredQueriesAndRotatedSocketsCloseWhenDrained() throws {
        let harness = try Harness(expire: .milliseconds(200))
        let start = NIODeadline.now()
        #expect(try harness.send(1, at: start, timeout: .milliseconds(100)))
        #expect(try harness.send(2, at: start, timeout: .seconds(2)))
        harness.lane.flush()
        let first = try #require(harness.lane.slots[0])
        #expect(harness.lane.sweep(now: start + .milliseconds(50)).isEmpty)
        let expired = harness.lane.sweep(now: start + .milliseconds(150))
        #expect(expired.map(\.query.header.id) == [1], "only the query whose deadline passed")

        // Past `expire` a new socket takes new queries; the old one drains its last query, then closes.
        #expect(try harness.send(3, at: start + .milliseconds(250)))
        let second = try #require(harness.lane.slots[0])
        #expect(second !== first && harness.lane.draining.count == 1)
        #expect(harness.counters.openSockets.load(ordering: .relaxed) == 2)
        _ = harness.lane.sweep(now: start + .milliseconds(260))
        #expect(harness.lane.draining.count == 1, "still one query waiting on it")
        let late = harness.lane.takeAll(on: first, now: start + .milliseconds(270))
        #expect(late.map(\.query.header.id) == [2])
        _ = harness.lane.sweep(now: start + .milliseconds(280))
        #expect(harness.lane.draining.isEmpty && !first.socket.isOpen)
        #expect(harness.counters.openSockets.load(ordering: .relaxed) == 1)
    }

    @Test func batchesLeaveFromSocketsDrawnAtRandomAmongTheLanesOwn() throws {
        let harness = try Harness(expire: .seconds(10), sockets: 4)
        let now = NIODeadline.now()
        for id in 0..<40 {
            #expect(try harness.send(UInt16(id), at: now))
            harness.lane.flush()  // one query a batch: each draws its socket
        }
        let ports = Set(harness.received(expecting: 40).map(\.port))
        #expect(ports.count > 1 && ports.count <= 4, "40 batches over the lane's 4 sockets: \(ports)")
        #expect(harness.lane.slots.compactMap { $0 }.count == ports.count, "a socket per port seen")
    }

    /// The upstream's answer to the query it received under `wireID` (QR set), with one TXT record filling it up to
    /// `length` bytes.
    private func answer(_ query: DNSMessage, wireID: UInt16, length: Int) -> [UInt8] {
        var bytes = query.bytes
        bytes.setUInt16(wireID, at: 0)
        bytes[2] |= 0x80
        bytes.setUInt16(1, at: 6)  // ANCOUNT
        var rdata: [UInt8] = []
        let rdataLength = length - bytes.count - 12
        while rdata.count < rdataLength {
            let chunk = min(255, rdataLength - rdata.count - 1)
            rdata.append(UInt8(chunk))
            rdata.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: chunk))
        }
        bytes += [0xC0, 0x0C, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C]
        bytes.appendUInt16(UInt16(rdata.count))
        bytes += rdata
        return bytes
    }

    @Test func aReplyOf4095BytesIsTakenWholeAndALargerOneCountsAsTruncated() throws {
        let harness = try Harness(expire: .seconds(10))
        let now = NIODeadline.now()
        #expect(try harness.send(1, at: now))
        #expect(try harness.send(2, at: now))
        harness.lane.flush()
        let ids = harness.receivedIDs(expecting: 2)
        let socket = try #require(harness.lane.slots[0])
        try #require(ids.count == 2)

        let whole = answer(try harness.query(1), wireID: ids[0], length: UDPLane.largestReply)
        guard case .reply(let first, let reply) = harness.lane.arrival(whole, cut: false, on: socket, now: now) else {
            Issue.record("the reply was not taken")
            return
        }
        #expect(first.query.header.id == 1 && reply.header.id == 1, "the query's own ID restored")
        #expect(reply.bytes.count == UDPLane.largestReply && !reply.header.isTruncated)

        let full = answer(try harness.query(2), wireID: ids[1], length: UDPLane.largestReply + 1)
        guard case .reply(_, let truncated) = harness.lane.arrival(full, cut: false, on: socket, now: now) else {
            Issue.record("the reply was not taken")
            return
        }
        #expect(truncated.header.isTruncated, "over 4095 bytes over UDP is fetched over TCP where the client needs it")
        #expect(truncated.header.id == 2)
    }

    @Test func aReplyWithAnotherQuestionOrAnUnknownIDIsDroppedAndTheQueryKeepsWaiting() throws {
        let harness = try Harness(expire: .seconds(10))
        let now = NIODeadline.now()
        #expect(try harness.send(7, at: now))
        harness.lane.flush()
        let id = try #require(harness.receivedIDs(expecting: 1).first)
        let socket = try #require(harness.lane.slots[0])

        let spoofed = answer(try harness.query(8), wireID: id, length: 100)  // the right ID, another question
        guard case .dropped = harness.lane.arrival(spoofed, cut: false, on: socket, now: now) else {
            Issue.record("a reply to another question was taken")
            return
        }
        #expect(harness.counters.mismatchedReplies.load(ordering: .relaxed) == 1)
        let stray = answer(try harness.query(7), wireID: id &+ 1, length: 100)
        guard case .dropped = harness.lane.arrival(stray, cut: false, on: socket, now: now) else {
            Issue.record("a reply under an ID nothing waits for was taken")
            return
        }
        #expect(harness.counters.unexpectedReplies.load(ordering: .relaxed) == 1)
        guard case .reply = harness.lane.arrival(answer(try harness.query(7), wireID: id, length: 100), cut: false,
                                                 on: socket, now: now) else {
            Issue.record("the real reply was not taken after the spoofed one")
            return
        }
    }

    @Test func aQueryLargerThanABatchSlotLeavesWholeOnItsOwn() throws {
        let harness = try Harness(expire: .seconds(10))
        let now = NIODeadline.now()
        // A query padded (EDNS0 padding, option 12) to 20,000 bytes.
        var bytes = try harness.query(9).bytes
        bytes.setUInt16(1, at: 10)  // ARCOUNT: the OPT record
        let padding = 20_000 - bytes.count - 11 - 4
        bytes += [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0]
        bytes.appendUInt16(UInt16(4 + padding))
        bytes.appendUInt16(12)
        bytes.appendUInt16(UInt16(padding))
        bytes += [UInt8](repeating: 0, count: padding)
        let query = try DNSMessage(bytes: bytes)
        #expect(query.bytes.count == 20_000)
        var walk = ForwardWalk(query: query, sets: [harness.set][...], transport: .udp)
        _ = walk.start(now: now)
        let forwarded = ListenerEngine.Forwarded(walk: walk, routeIndex: 0, received: now)
        #expect(harness.lane.send(UDPLane.Pending(query: query, waiter: .walk(forwarded, replyTo: .datagram(DatagramPeer())),
                                                  deadline: now + .seconds(2)), now: now))
        harness.lane.flush()
        var sizes: [Int] = []
        for _ in 0..<1500 where sizes.isEmpty {
            _ = DatagramReadiness.wait(for: [harness.upstreamSocket.waitable], timeoutMS: 20)
            _ = harness.batch.receive(from: harness.upstreamSocket) { bytes, cut, _ in
                sizes.append(cut ? -1 : bytes.count)
            }
        }
        #expect(sizes == [20_000], "the query reached the upstream whole")
    }
}
