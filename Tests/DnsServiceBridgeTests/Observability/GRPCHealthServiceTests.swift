import Testing
@testable import DnsServiceBridge

@Suite struct GRPCHealthServiceTests {
    @Test func emptyRequestAsksForTheWholeServer() throws {
        #expect(try GRPCHealthService.serviceName(in: []) == "")
    }

    @Test func readsTheServiceFieldAndSkipsOthers() throws {
        let name = Array("coredns.dns.DnsService".utf8)
        // field 2 varint 150, field 1 string, field 3 fixed32
        let bytes: [UInt8] = [0x10, 0x96, 0x01, 0x0A, UInt8(name.count)] + name + [0x1D, 1, 2, 3, 4]
        #expect(try GRPCHealthService.serviceName(in: bytes) == "coredns.dns.DnsService")
    }

    @Test func rejectsTruncatedAndBadWireTypes() {
        #expect(throws: GRPCHealthService.RequestError.self) { try GRPCHealthService.serviceName(in: [0x0A, 5, 0x61]) }
        #expect(throws: GRPCHealthService.RequestError.self) { try GRPCHealthService.serviceName(in: [0x0F]) }
        #expect(throws: GRPCHealthService.RequestError.self) { try GRPCHealthService.serviceName(in: [0x08]) }
    }

    @Test func responseEncodesTheStatus() {
        #expect(GRPCHealthService.response(.serving) == [0x08, 0x01])
        #expect(GRPCHealthService.response(.notServing) == [0x08, 0x02])
    }
}
