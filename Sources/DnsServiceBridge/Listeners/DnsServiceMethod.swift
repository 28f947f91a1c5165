/// CoreDNS's gRPC DnsService names.
public enum DnsServiceMethod {
    /// The unary method every CoreDNS `grpc://` server and `grpc` plugin speaks.
    public static let query = "/coredns.dns.DnsService/Query"
}
