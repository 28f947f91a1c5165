import NIOCore

/// Closes a connection when `IdleStateHandler` says it read nothing for the idle timeout (DoH connections, the
/// operations endpoints' HTTP connections).
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
