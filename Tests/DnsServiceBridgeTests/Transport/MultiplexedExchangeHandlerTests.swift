import NIOCore
import NIOEmbedded
import Testing
@testable import DnsServiceBridge

/// The pipelining side of a DoT/TCP upstream connection, driven by hand on an EmbeddedChannel: what goes out,
/// which reply completes which exchange, and what a failing connection does to everything pending on it.
@Suite struct MultiplexedExchangeHandlerTests {
    /// A connected channel with the upstream framing and the handler, as MultiplexedStreamConnection builds it.
    private final class Harness {
        let channel = EmbeddedChannel()
        let handler: MultiplexedExchangeHandler
        let counters = TransportCounters()

        init(maxInFlight: Int = 8) throws {
            handler = MultiplexedExchangeHandler(label: "tls://192.0.2.53:853", counters: counters,
                                                 maxInFlight: maxInFlight)
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.53", port: 853)).wait()
        }

        func start(_ name: String, id: UInt16 = 4242, timeout: TimeAmount = .seconds(5))
            throws -> EventLoopFuture<DNSMessage> {
            let query = DNSMessage.query(name: try DNSName(name), type: .a, id: id)
            return handler.start(query, deadline: channel.embeddedEventLoop.now + timeout, channel: channel)
        }

        /// The queries written so far, as the upstream would read them.
        func sent() throws -> [DNSMessage] {
            var messages: [DNSMessage] = []
            while var frame = try channel.readOutbound(as: ByteBuffer.self) {
                let length = frame.readInteger(as: UInt16.self) ?? 0
                let bytes = frame.readBytes(length: Int(length)) ?? []
                messages.append(try DNSMessage(bytes: bytes))
            }
            return messages
        }

        /// Delivers the upstream's answer to `query` (QR set), optionally under another ID.
        func reply(to query: DNSMessage, id: UInt16? = nil) throws {
            var bytes = query.bytes
            bytes[2] |= 0x80
            if let id {
                bytes[0] = UInt8(id >> 8)
                bytes[1] = UInt8(id & 0xff)
            }
            try channel.writeInbound(channel.allocator.framedDNSMessage(bytes))
        }
    }

    private func outcome(_ future: EventLoopFuture<DNSMessage>) -> Result<DNSMessage, any Error>? {
        var result: Result<DNSMessage, any Error>?
        future.assumeIsolated().whenComplete { result = $0 }
        return result
    }

    @Test func pipelinedQueriesGetUniqueIDsAndOutOfOrderRepliesFindTheirQuery() throws {
        let harness = try Harness()
        let names = ["a.example.org.", "b.example.org.", "c.example.org.", "d.example.org."]
        // Every client used the same ID: the connection must still tell them apart.
        let futures = try names.map { try harness.start($0, id: 7) }
        let sent = try harness.sent()
        #expect(sent.count == 4)
        #expect(Set(sent.map(\.header.id)).count == 4)
        #expect(harness.handler.inFlight == 4)

        for query in sent.reversed() { try harness.reply(to: query) }

        for (name, future) in zip(names, futures) {
            let expected = try DNSName(name)
            let reply = try #require(try outcome(future)?.get())
            #expect(reply.question?.name == expected)
            #expect(reply.header.isResponse)
        }
        #expect(harness.handler.inFlight == 0)
        #expect(harness.channel.isActive)
    }

    @Test func aReplyWithAnotherQuestionFailsOnlyItsExchange() throws {
        let harness = try Harness()
        let first = try harness.start("a.example.org.")
        let second = try harness.start("b.example.org.")
        let sent = try harness.sent()
        // b's answer under a's ID: the ID matches, the question does not.
        try harness.reply(to: sent[1], id: sent[0].header.id)
        guard case .failure(let error) = try #require(outcome(first)) else {
            Issue.record("a reply with another question was accepted")
            return
        }
        #expect(error as? ExchangeError == .badReply(upstream: "tls://192.0.2.53:853",
                                                   reason: "the question does not match the query"))
        #expect(outcome(second) == nil)
        try harness.reply(to: sent[1])
        let expected = try DNSName("b.example.org.")
        #expect(try outcome(second)?.get().question?.name == expected)
        #expect(harness.counters.mismatchedReplies.load(ordering: .relaxed) == 1)
    }

    @Test func aReplyNobodyWaitsForIsCountedAndIgnored() throws {
        let harness = try Harness()
        let future = try harness.start("a.example.org.")
        let sent = try harness.sent()
        try harness.reply(to: sent[0], id: sent[0].header.id &+ 1)
        #expect(outcome(future) == nil)
        #expect(harness.counters.unexpectedReplies.load(ordering: .relaxed) == 1)
        try harness.reply(to: sent[0])
        #expect(try outcome(future)?.get() != nil)
    }

    @Test func queriesBeyondTheCapAreRefused() throws {
        let harness = try Harness(maxInFlight: 2)
        _ = try harness.start("a.example.org.")
        _ = try harness.start("b.example.org.")
        let third = try harness.start("c.example.org.")
        guard case .failure(let error) = try #require(outcome(third)) else {
            Issue.record("a third exchange went out with a cap of 2")
            return
        }
        #expect(error as? ExchangeError == .tooManyInFlight(upstream: "tls://192.0.2.53:853", limit: 2))
        #expect(try harness.sent().count == 2)
        try harness.channel.close().wait()
    }

    @Test func aClosedConnectionFailsEveryPendingExchange() throws {
        let harness = try Harness()
        let futures = try ["a.example.org.", "b.example.org.", "c.example.org."].map { try harness.start($0) }
        try harness.channel.close().wait()
        for future in futures {
            guard case .failure(let error) = try #require(outcome(future)) else {
                Issue.record("an exchange survived its connection")
                continue
            }
            #expect(error as? ExchangeError == .connectionClosed(upstream: "tls://192.0.2.53:853"))
        }
        #expect(harness.handler.inFlight == 0)
        let late = try harness.start("d.example.org.")
        guard case .failure = try #require(outcome(late)) else {
            Issue.record("an exchange started on a closed connection")
            return
        }
    }

    @Test func anErrorOnTheConnectionFailsEveryPendingExchangeWithIt() throws {
        struct HandshakeFailed: Error, CustomStringConvertible { var description: String { "certificate verify failed" } }
        let harness = try Harness()
        let futures = try ["a.example.org.", "b.example.org."].map { try harness.start($0) }
        harness.channel.pipeline.fireErrorCaught(HandshakeFailed())
        for future in futures {
            guard case .failure(let error) = try #require(outcome(future)) else {
                Issue.record("an exchange survived a failed handshake")
                continue
            }
            #expect(error as? ExchangeError == .connectionFailed(upstream: "tls://192.0.2.53:853",
                                                               reason: "certificate verify failed"))
        }
        #expect(!harness.channel.isActive)
    }

    @Test func aSlowAnswerTimesOutAloneWhileTheConnectionStillAnswers() throws {
        let harness = try Harness()
        let slow = try harness.start("slow.example.org.", timeout: .seconds(1))
        let other = try harness.start("b.example.org.", timeout: .seconds(5))
        let sent = try harness.sent()
        try harness.reply(to: sent[1])
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        guard case .failure(let error) = try #require(outcome(slow)) else {
            Issue.record("the slow exchange did not time out")
            return
        }
        #expect(error as? ExchangeError == .timeout(upstream: "tls://192.0.2.53:853"))
        #expect(try outcome(other)?.get() != nil)
        #expect(harness.channel.isActive)
        // The late answer arrives after all: nobody waits for it any more.
        try harness.reply(to: sent[0])
        #expect(harness.counters.unexpectedReplies.load(ordering: .relaxed) == 1)
        try harness.channel.close().wait()
    }

    @Test func aConnectionThatAnswersNothingBeforeADeadlineIsGivenUp() throws {
        let harness = try Harness()
        let first = try harness.start("a.example.org.", timeout: .seconds(1))
        let second = try harness.start("b.example.org.", timeout: .seconds(5))
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(outcome(first) != nil)
        guard case .failure(let error) = try #require(outcome(second)) else {
            Issue.record("an exchange stayed on a dead connection")
            return
        }
        #expect(error as? ExchangeError == .connectionFailed(upstream: "tls://192.0.2.53:853",
                                                           reason: "nothing came back on the connection in time"))
        #expect(!harness.channel.isActive)
    }
}
