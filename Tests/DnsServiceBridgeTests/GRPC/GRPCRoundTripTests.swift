import Synchronization
import Testing

@testable import DnsServiceBridge

/// The GRPC/ layer against itself over a real loopback socket: server, channel, statuses, deadlines, shutdown.
@Suite struct GRPCRoundTripTests {
    private static let echo = "/test.Echo/Echo"

    private func startServer(_ methods: [String: GRPCServer.UnaryHandler], queues: Int = 1,
                             maxCallsInService: Int = .max) throws -> (GRPCServer, String) {
        let server = GRPCServer(methods: methods, queues: queues, maxCallsInService: maxCallsInService)
        let port = try server.listen(on: "127.0.0.1:0", security: .insecure)
        server.start()
        return (server, "127.0.0.1:\(port)")
    }

    @Test func unaryCallsGetTheirOwnReplies() async throws {
        let (server, address) = try startServer([Self.echo: { request, responder in
            responder.reply((request ?? []).reversed())
        }])
        let channel = try GRPCChannel(target: address, security: .insecure)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let request: [UInt8] = [UInt8(index % 256), 1, 2]
                    let reply = try await channel.unaryCall(method: Self.echo, request: request, timeout: .seconds(30))
                    #expect(reply == request.reversed())
                }
            }
            try await group.waitForAll()
        }
        channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(server.callsInFlight == 0)
    }

    @Test func callsPastTheLimitInServiceWaitAndAreServedWhenOthersFinish() async throws {
        let parked = Mutex<[GRPCServerResponder]>([])
        let (server, address) = try startServer([Self.echo: { request, responder in
            parked.withLock { $0.append(responder) }
            _ = request
        }], queues: 2, maxCallsInService: 3)
        let channel = try GRPCChannel(target: address, security: .insecure)
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await channel.unaryCall(method: Self.echo, request: [UInt8(index)], timeout: .seconds(20))
                }
            }
            // Three calls reach the handler; the other five wait in gRPC core, however long.
            let reached = ContinuousClock.now + .seconds(30)
            while parked.withLock({ $0.count }) < 3, ContinuousClock.now < reached {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(parked.withLock { $0.count } == 3)
            #expect(server.callsInFlight == 3)
            // Each reply lets one more call in, until all eight are answered.
            var answered = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while answered < 8, ContinuousClock.now < deadline {
                let ready = parked.withLock { parked in
                    defer { parked.removeAll() }
                    return parked
                }
                #expect(server.callsInFlight <= 3)
                ready.forEach { $0.reply([7]) }
                answered += ready.count
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(answered == 8)
            for try await reply in group { #expect(reply == [7]) }
        }
        channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(server.callsInFlight == 0)
    }

    @Test func aLimitBelowOneRequestPerQueueAndMethodStillServesEveryCall() async throws {
        // Two queues, two methods: four requests must stay out, so a limit of 1 is raised to 4, not left to starve.
        let (server, address) = try startServer([
            Self.echo: { request, responder in responder.reply(request ?? []) },
            "/test.Echo/Other": { _, responder in responder.reply([]) },
        ], queues: 2, maxCallsInService: 1)
        let channel = try GRPCChannel(target: address, security: .insecure)
        for index in 0..<20 {
            let reply = try await channel.unaryCall(method: Self.echo, request: [UInt8(index)], timeout: .seconds(30))
            #expect(reply == [UInt8(index)])
        }
        channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func statusesReachTheClient() async throws {
        let (server, address) = try startServer([Self.echo: { _, responder in
            responder.fail(.invalidArgument, "no thanks")
        }])
        let channel = try GRPCChannel(target: address, security: .insecure)
        await #expect(throws: GRPCCallError(status: .invalidArgument, details: "no thanks")) {
            _ = try await channel.unaryCall(method: Self.echo, request: [1], timeout: .seconds(30))
        }
        do {
            _ = try await channel.unaryCall(method: "/no.Such/Method", request: [1], timeout: .seconds(30))
            Issue.record("an unknown method was answered")
        } catch {
            #expect(error.status == .unimplemented)
        }
        channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func aCallThatIsNotAnsweredInTimeExceedsItsDeadlineAndLeavesService() async throws {
        let parked = Mutex<[GRPCServerResponder]>([])
        let (server, address) = try startServer([Self.echo: { _, responder in
            parked.withLock { $0.append(responder) }
        }])
        let channel = try GRPCChannel(target: address, security: .insecure)
        let started = ContinuousClock.now
        do {
            _ = try await channel.unaryCall(method: Self.echo, request: [1], timeout: .milliseconds(200))
            Issue.record("a parked call was answered")
        } catch {
            #expect(error.status == .deadlineExceeded)
        }
        #expect(ContinuousClock.now - started < .seconds(15), "the call's deadline, not the handler's silence")
        // Its deadline passed: the call left service, though the handler still holds its responder, unanswered.
        let left = ContinuousClock.now + .seconds(30)
        while server.callsInFlight > 0, ContinuousClock.now < left { try await Task.sleep(for: .milliseconds(5)) }
        #expect(server.callsInFlight == 0)
        #expect(server.callsCancelled == 1)
        #expect(parked.withLock { $0.map(\.isCancelled) } == [true])
        parked.withLock { $0.first?.reply([2]) }  // a late reply goes nowhere, and counts nothing twice
        #expect(server.callsInFlight == 0)
        channel.close()
        // Shutdown with a call still parked: the grace period passes, the call is cancelled, nothing hangs.
        await server.shutdown(gracePeriod: .milliseconds(100))
        parked.withLock { $0.removeAll() }
    }

    @Test func aClosedChannelFailsAtOnce() async throws {
        let channel = try GRPCChannel(target: "127.0.0.1:1", security: .insecure)
        channel.close()
        do {
            _ = try await channel.unaryCall(method: Self.echo, request: [1], timeout: .seconds(30))
            Issue.record("a closed channel carried a call")
        } catch {
            #expect(error.status == .unavailable)
        }
    }

    @Test func anUnreachableTargetIsUnavailable() async throws {
        let channel = try GRPCChannel(target: "127.0.0.1:1", security: .insecure)
        do {
            _ = try await channel.unaryCall(method: Self.echo, request: [1], timeout: .seconds(2))
            Issue.record("nobody listens on port 1, yet the call succeeded")
        } catch {
            #expect(error.status == .unavailable || error.status == .deadlineExceeded)
        }
        channel.close()
    }
}
