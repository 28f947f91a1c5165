import CGRPC

/// gRPC core's process-wide initialisation; every type that owns a gRPC core object calls `retain()` first.
enum GRPCLibrary {
    /// `grpc_init` is reference counted inside gRPC core, so each owner pairs one `retain` with one `release`.
    static func retain() { cgrpc_init() }
    static func release() { cgrpc_shutdown() }
}

/// The version string of the linked gRPC core.
public func gRPCCoreVersion() -> String {
    String(cString: cgrpc_version())
}
