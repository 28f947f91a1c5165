import NIOCore
import NIOEmbedded
import Testing
@testable import DnsServiceBridge

/// A pooled UDP socket's exchanges, one after another, driven by hand on an EmbeddedChannel: the socket keeps one
/// deadline timer across exchanges, and each exchange must still fail at its own deadline, no sooner, no later.
@Suite struct UDPExchangeHandlerTests {
    private static let upstream = try! SocketAddress(ipAddress: "192.0.2.53", port: 53)

    private final class Harness {
        let channel = EmbeddedChannel()
        let counters = TransportCounters()
        let handler: UDPExchangeHandler

        init() throws {
            handler = UDPExchangeHandler(upstream: UDPExchangeHandlerTests.upstream, label: "192.0.2.53:53",
                                         counters: counters)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: UDPExchangeHandlerTests.upstream).wait()
        }

        func start(_ name: String, id: UInt16, timeout: TimeAmount) throws
            -> (query: DNSMessage, reply: EventLoopFuture<DNSMessage>) {
            let query = DNSMessage.query(name: try DNSName(name), type: .a, id: id)
            return (query, handler.start(query, deadline: channel.embeddedEventLoop.now + timeout, channel: channel))
        }

        /// The upstream's answer to `query` (QR set), from the upstream's address.
        func answer(_ query: DNSMessage) throws {
            var bytes = query.bytes
            bytes[2] |= 0x80
            try channel.writeInbound(AddressedEnvelope(remoteAddress: UDPExchangeHandlerTests.upstream,
                                                       data: channel.allocator.buffer(bytes: bytes)))
        }

        /// The upstream's answer to `query` with one TXT record, `length` bytes in all.
        func answer(_ query: DNSMessage, length: Int) throws {
            var bytes = query.bytes
            bytes[2] |= 0x80
            bytes.setUInt16(1, at: 6)  // ANCOUNT
            // The record: a pointer to the question's name, TXT, IN, a TTL, then character-strings filling it up.
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
            #expect(bytes.count == length)
            try channel.writeInbound(AddressedEnvelope(remoteAddress: UDPExchangeHandlerTests.upstream,
                                                       data: channel.allocator.buffer(bytes: bytes)))
        }

        func advance(by amount: TimeAmount) {
            channel.embeddedEventLoop.advanceTime(by: amount)
        }
    }

    private func outcome(_ future: EventLoopFuture<DNSMessage>) -> Result<DNSMessage, any Error>? {
        var result: Result<DNSMessage, any Error>?
        future.assumeIsolated().whenComplete { result = $0 }
        return result
    }

    private func isTimeout(_ result: Result<DNSMessage, any Error>?) -> Bool {
        guard case .failure(let error) = result else { return false }
        return error as? ExchangeError == .timeout(upstream: "192.0.2.53:53")
    }

    @Test func aLaterExchangeIsNotTimedOutByTheTimerAnEarlierOneArmed() throws {
        let harness = try Harness()
        let first = try harness.start("a.example.org.", id: 1, timeout: .seconds(1))
        try harness.answer(first.query)
        #expect(try outcome(first.reply)?.get().header.id == 1)
        // The first exchange's timer is still armed for t=1s; the second may run until t=5s.
        let second = try harness.start("b.example.org.", id: 2, timeout: .seconds(5))
        harness.advance(by: .seconds(1))
        #expect(outcome(second.reply) == nil, "timed out at the earlier exchange's deadline")
        harness.advance(by: .milliseconds(3_999))
        #expect(outcome(second.reply) == nil, "timed out before its deadline")
        harness.advance(by: .milliseconds(1))
        #expect(isTimeout(outcome(second.reply)))
    }

    @Test func anExchangeWithAnEarlierDeadlineThanTheArmedTimerTimesOutOnTime() throws {
        let harness = try Harness()
        let first = try harness.start("a.example.org.", id: 1, timeout: .seconds(5))
        try harness.answer(first.query)
        let second = try harness.start("b.example.org.", id: 2, timeout: .seconds(1))
        harness.advance(by: .seconds(1))
        #expect(isTimeout(outcome(second.reply)))
        // The late answer finds nobody waiting for it.
        try harness.answer(second.query)
        #expect(harness.counters.unexpectedReplies.load(ordering: .relaxed) == 1)
    }

    @Test func aTimedOutSocketStillCarriesTheNextExchange() throws {
        let harness = try Harness()
        let lost = try harness.start("a.example.org.", id: 1, timeout: .seconds(1))
        harness.advance(by: .seconds(1))
        #expect(isTimeout(outcome(lost.reply)))
        let next = try harness.start("b.example.org.", id: 2, timeout: .seconds(1))
        harness.advance(by: .milliseconds(500))
        try harness.answer(next.query)
        #expect(try outcome(next.reply)?.get().header.id == 2)
        harness.advance(by: .seconds(2))
        #expect(try outcome(next.reply)?.get().header.id == 2)
    }

    @Test func aReplyOneByteShortOfTheReceiveBufferIsTakenWhole() throws {
        let harness = try Harness()
        let exchange = try harness.start("a.example.org.", id: 1, timeout: .seconds(1))
        try harness.answer(exchange.query, length: UDPExchangeHandler.receiveBufferSize - 1)
        let reply = try #require(try outcome(exchange.reply)?.get())
        #expect(reply.bytes.count == UDPExchangeHandler.receiveBufferSize - 1)
        #expect(!reply.header.isTruncated)
    }

    @Test func aReplyThatFillsTheReceiveBufferMayHaveBeenCutSoItCountsAsTruncated() throws {
        let harness = try Harness()
        let exchange = try harness.start("a.example.org.", id: 1, timeout: .seconds(1))
        try harness.answer(exchange.query, length: UDPExchangeHandler.receiveBufferSize)
        let reply = try #require(try outcome(exchange.reply)?.get())
        #expect(reply.header.isTruncated, "a full buffer cannot tell a whole reply from a cut one")
        #expect(reply.header.id == 1)
    }

    @Test func closingTheSocketFailsTheExchangeInFlight() throws {
        let harness = try Harness()
        let pending = try harness.start("a.example.org.", id: 1, timeout: .seconds(5))
        try harness.channel.close().wait()
        guard case .failure(let error) = try #require(outcome(pending.reply)) else {
            Issue.record("the exchange outlived its socket")
            return
        }
        #expect(error as? ExchangeError == .connectionClosed(upstream: "192.0.2.53:53"))
    }
}
