/// What one streaming call may take from the server. Unary calls reach a handler only with their request read,
/// so a call in service always moves; a stream can sit idle or keep asking for ever, so it is bounded on its own.
public struct GRPCStreamLimits: Sendable, Hashable {
    /// Request messages read in one stream; the next gets RESOURCE_EXHAUSTED. A reflection client asks a handful.
    public var messages: Int
    /// Request bytes read in one stream, in all; past it, RESOURCE_EXHAUSTED.
    public var bytes: Int
    /// How long a stream may go without a request read (the client silent, or not reading our replies) before it
    /// is cancelled and leaves service.
    public var idleTimeout: Duration
    /// Streaming calls in service at once, of all streaming methods together; more wait in gRPC core, as calls do
    /// past the server's `maxCallsInService`. Kept well below that, so that idle streams can never take the room
    /// the unary methods (DNS queries) need.
    public var inService: Int

    /// Creates limits; the defaults suit short-lived tool sessions such as grpcurl's.
    public init(messages: Int = 1024, bytes: Int = 4 * 1024 * 1024, idleTimeout: Duration = .seconds(60),
                inService: Int = 64) {
        self.messages = max(1, messages)
        self.bytes = max(1, bytes)
        self.idleTimeout = idleTimeout
        self.inService = max(1, inService)
    }
}
