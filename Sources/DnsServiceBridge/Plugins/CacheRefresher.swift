import NIOCore

/// How the cache asks again for an entry it keeps (a prefetch, or a stale entry's refresh): the query goes through
/// the block's forwarders on an event loop, as any client's would, and the reply comes back to the cache.
struct CacheRefresher: Sendable {
    let forwarder: Forwarder
    let group: any EventLoopGroup

    /// Sends `query` on; `then` gets the reply (a SERVFAIL when every upstream failed).
    func refresh(_ query: DNSMessage, then: @escaping @Sendable (DNSMessage) -> Void) {
        let context = QueryContext(client: nil, transport: .udp, eventLoop: group.next())
        forwarder.forward(query, context: context).whenSuccess(then)
    }
}
