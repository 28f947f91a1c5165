import NIOCore

extension EventLoopGroup {
    /// How many event loops the group runs (at least 1): the datagram relay and the gRPC server's completion queues
    /// come one per loop, so that each takes a core as the loops do.
    var loopCount: Int { max(1, Array(makeIterator()).count) }
}
