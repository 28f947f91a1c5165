import Testing
@testable import DnsServiceBridge

@Test func linksGRPCCore() {
    #expect(!gRPCCoreVersion().isEmpty)
}
