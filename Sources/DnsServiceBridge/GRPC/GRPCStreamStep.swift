/// What a streaming method's handler does with one request message of a stream.
public enum GRPCStreamStep: Sendable, Hashable {
    /// Sends these messages, in order, then reads the next request.
    case respond([[UInt8]])
    /// Ends the stream with this status (and no further message); the client's later requests go unread.
    case finish(GRPCStatusCode, String)
}
