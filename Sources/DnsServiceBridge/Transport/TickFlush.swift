import NIOCore

/// Flushes a channel once per event-loop tick, however many writes the tick made: the replies completed by one
/// batch of reads then leave in one `sendmmsg` (UDP) or one `write` (TCP, TLS) instead of one each. Used on the
/// channel's loop only.
final class TickFlush {
    private var scheduled = false

    /// Flushes `channel` after the task now running on its loop (a read batch, a timer) has finished.
    func flushSoon(_ channel: any Channel) {
        guard !scheduled else { return }
        scheduled = true
        channel.eventLoop.assumeIsolated().execute { [self] in
            scheduled = false
            channel.flush()
        }
    }
}
